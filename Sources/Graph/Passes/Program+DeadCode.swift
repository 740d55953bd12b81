extension Program {
    /// Removes every node that no output or gradient depends on (parameters and inputs stay,
    /// so the parameter layout and the host's uploads do not depend on what a graph uses).
    public func eliminatingDeadCode() -> Program {
        var live = Set<Int>()
        var stack = roots.map(\.node)
        while let n = stack.popLast() {
            guard live.insert(n).inserted else { continue }
            stack.append(contentsOf: graph.nodes[n].inputs.map(\.node))
        }
        var rewriter = GraphRewriter()
        for (i, node) in graph.nodes.enumerated() {
            let keep: Bool
            switch node.op {
            case .parameter, .input: keep = true
            default: keep = live.contains(i)
            }
            if keep { rewriter.copy(node, oldIndex: i) }
        }
        return rewriter.finish(self)
    }
}
