package yamlguard

import (
	"fmt"

	"github.com/goccy/go-yaml/ast"
)

// cost is what a subtree stands for with its aliases replaced: its values, the text of its
// scalars, and how many levels of collections it nests (0 for a scalar).
type cost struct {
	nodes, bytes, depth int
}

// walker visits a file's tree once, in document order, and adds up what every value stands
// for. An anchor's value is measured when the walk passes it and remembered, so an alias
// costs a lookup however much it expands to: the walk is linear in the size of the tree,
// while the sums it checks are those of the expanded file.
type walker struct {
	l       Limits
	anchors map[string]ast.Node // the anchors completed so far, by name
	memo    map[ast.Node]cost   // the cost of each anchored value
	aliases map[*ast.AliasNode]ast.Node
	total   cost
	err     error
}

// walk returns the cost of n, which sits inside `above` levels of collections, and adds its
// values and scalar text to the file's total, stopping at the first bound exceeded. Levels
// are counted as the depth check of the tokens counts them: a list, and a key with its value
// (a mapping's pairs sit at its own level).
func (w *walker) walk(n ast.Node, above int) cost {
	if w.err != nil || n == nil {
		return cost{}
	}
	switch v := n.(type) {
	case *ast.AnchorNode:
		c := w.walk(v.Value, above)
		if v.Value != nil {
			w.memo[v.Value] = c
		}
		if v.Name != nil {
			w.anchors[v.Name.GetToken().Value] = v.Value
		}
		return c
	case *ast.TagNode:
		return w.walk(v.Value, above)
	case *ast.MappingKeyNode:
		return w.walk(v.Value, above)
	case *ast.AliasNode:
		c := cost{nodes: 1}
		if v.Value != nil {
			if t, ok := w.anchors[v.Value.GetToken().Value]; ok {
				w.aliases[v] = t // nil for an anchor of no value: the alias is null
				if t != nil {
					// The anchored value was added to the total where it is written;
					// each alias adds it again.
					c = w.memo[t]
				}
			}
		}
		return w.add(n, c, above)
	case *ast.MappingNode:
		c := cost{nodes: 1}
		for _, mv := range v.Values {
			c = c.join(w.walk(mv, above), 0)
		}
		w.add(n, cost{nodes: 1}, above)
		return c
	case *ast.MappingValueNode:
		c := cost{nodes: 1}
		c = c.join(w.walk(v.Key, above+1), 1)
		c = c.join(w.walk(v.Value, above+1), 1)
		w.add(n, cost{nodes: 1}, above)
		return c
	case *ast.SequenceNode:
		c := cost{nodes: 1}
		for _, x := range v.Values {
			c = c.join(w.walk(x, above+1), 1)
		}
		w.add(n, cost{nodes: 1}, above)
		return c
	}
	return w.add(n, cost{nodes: 1, bytes: scalarBytes(n)}, above)
}

// scalarBytes is the length of a scalar's text.
func scalarBytes(n ast.Node) int {
	switch v := n.(type) {
	case *ast.StringNode:
		return len(v.Value)
	case *ast.LiteralNode:
		if v.Value != nil {
			return len(v.Value.Value)
		}
		return 0
	}
	if tk := n.GetToken(); tk != nil {
		return len(tk.Value)
	}
	return 0
}

// join returns c with a part's cost added: its values and text, and its depth plus level.
func (c cost) join(part cost, level int) cost {
	c.nodes += part.nodes
	c.bytes += part.bytes
	c.depth = max(c.depth, part.depth+level)
	return c
}

// add adds c, the cost of n inside `above` levels, to the file's total and checks the
// bounds at n; it returns c.
func (w *walker) add(n ast.Node, c cost, above int) cost {
	if w.err != nil {
		return c // the first bound exceeded is the one reported
	}
	w.total.nodes += c.nodes
	w.total.bytes += c.bytes
	line, col := at(n.GetToken())
	switch {
	case above+c.depth > w.l.MaxDepth:
		w.err = &Error{Line: line, Col: col, Msg: fmt.Sprintf("nested more than %d levels deep once its aliases are expanded", w.l.MaxDepth)}
	case w.total.nodes > w.l.MaxNodes:
		w.err = &Error{Line: line, Col: col, Msg: fmt.Sprintf("the file stands for more than %d values once its aliases are expanded", w.l.MaxNodes)}
	case w.total.bytes > w.l.MaxScalarBytes:
		w.err = &Error{Line: line, Col: col, Msg: fmt.Sprintf("the file stands for more than %s of text once its aliases are expanded", size(w.l.MaxScalarBytes))}
	}
	return c
}
