// Package yamlguard parses YAML that a person or a process may have written badly or with
// intent to harm, within bounds: the size of the file, how deep it nests, and how much its
// aliases expand to. A few hundred bytes of nested anchors (a "billion laughs" file) stand
// for billions of values, and a few hundred kilobytes of brackets nest deeper than a
// recursive parser can follow; both are refused with the line at fault before anything is
// built from them.
//
// The bounds act in order: the size before the file is read into tokens, the nesting depth
// on the tokens before the parser builds a tree, and the expansion on the tree before any
// decoder follows an alias. The parser's tree is proportional to the file; only decoding
// through aliases can multiply it, and that is what the expansion bound counts.
package yamlguard

import (
	"fmt"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// Limits bounds one YAML file.
type Limits struct {
	// MaxBytes is the largest file.
	MaxBytes int
	// MaxDepth is the deepest nesting of collections, counting those reached through
	// aliases.
	MaxDepth int
	// MaxNodes is the most values (scalars, lists, mappings and their pairs) the file may
	// stand for once every alias is replaced by what it refers to.
	MaxNodes int
	// MaxScalarBytes is the most text the scalars of the file may add up to once every alias
	// is replaced: an alias of one long string repeated many times is as costly to decode as
	// the string written out each time.
	MaxScalarBytes int
}

// Error is a file that exceeds a bound or is not valid YAML; Line and Col are 1-based, 0 when
// the mistake has no position (a file too large).
type Error struct {
	Line, Col int
	Msg       string
	// Syntax is true when the file is not valid YAML (the parser's own error), false when it
	// is valid but exceeds a bound.
	Syntax bool
	// Err is the parser's error when Syntax is true.
	Err error
}

// Error returns "line:col: message", or the message alone without a position.
func (e *Error) Error() string {
	if e.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Msg)
}

// Unwrap returns the parser's error of a syntax error.
func (e *Error) Unwrap() error { return e.Err }

// Doc is a parsed file within its limits.
type Doc struct {
	File *ast.File
	// Aliases maps every alias to the value of the anchor it refers to: the latest anchor
	// of its name that the file completed before the alias, as YAML defines it. An alias
	// that refers to no such anchor (one defined later, or the anchor it is inside) is
	// absent, which keeps the tree free of cycles.
	Aliases map[*ast.AliasNode]ast.Node
}

// Parse checks src against l and parses it. A file beyond a bound, or not valid YAML, is an
// *Error.
func Parse(src []byte, l Limits) (*Doc, error) {
	if len(src) > l.MaxBytes {
		return nil, &Error{Msg: fmt.Sprintf("the file is %s; at most %s is allowed", size(len(src)), size(l.MaxBytes))}
	}
	tokens := lexer.Tokenize(string(src))
	if err := checkDepth(tokens, l.MaxDepth); err != nil {
		return nil, err
	}
	f, err := parser.Parse(tokens, 0)
	if err != nil {
		return nil, &Error{Msg: err.Error(), Syntax: true, Err: err}
	}
	w := &walker{l: l, anchors: map[string]ast.Node{}, memo: map[ast.Node]cost{}, aliases: map[*ast.AliasNode]ast.Node{}}
	for _, d := range f.Docs {
		clear(w.anchors) // anchors do not carry over from one document to the next
		if d.Body != nil {
			w.walk(d.Body, 0)
		}
		if w.err != nil {
			return nil, w.err
		}
	}
	return &Doc{File: f, Aliases: w.aliases}, nil
}

// size renders a byte count for messages.
func size(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// at returns the line and column of a token.
func at(tk *token.Token) (int, int) {
	if tk == nil || tk.Position == nil {
		return 0, 0
	}
	return tk.Position.Line, tk.Position.Column
}
