import Devices
import Graph
import XCTest

final class ScheduleReportTests: XCTestCase {
    func testPrintTinyUnetSchedule() throws {
        let net = TinyUnet()
        let queue = try TestDevices.queue("cpu")
        let (g, loss) = try net.buildLoss()
        let grads = try g.gradients(of: loss, withRespectTo: g.parameters)
        let names = g.graph.parameters.map(\.name)
        let c = try CompiledGraph(g, outputs: ["loss": loss], gradients: Dictionary(uniqueKeysWithValues: zip(names, grads)), queue: queue)
        print(c.report)
        print(c.schedule.familyCounts.sorted { $0.value > $1.value })
        for l in c.schedule.launches where l.kernel.family == "copy" || l.kernel.family == "fill" { print("COPY", l.label, l.kernel.caseDescription) }
    }
}
