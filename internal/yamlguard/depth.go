package yamlguard

import (
	"fmt"

	"github.com/goccy/go-yaml/token"
)

// checkDepth bounds the nesting of the file on its tokens, before the parser, which follows
// nesting by recursion and spends memory on each level in proportion to its depth, sees
// them. Flow collections nest by their brackets. Block collections nest by indentation: a
// block key or list entry further right than the one before it opens a level, one at the
// same column is a sibling, one further left closes the levels to its right. This is the
// depth the parser will see for valid YAML, and a bound on what it tries for invalid YAML.
func checkDepth(tokens token.Tokens, max int) error {
	var block []int // the columns of the open block levels, left to right
	flow := 0
	for i, tk := range tokens {
		if tk.Position == nil {
			continue
		}
		switch tk.Type {
		case token.DocumentHeaderType, token.DocumentEndType:
			block, flow = block[:0], 0
			continue
		case token.SequenceStartType, token.MappingStartType:
			flow++
			if len(block)+flow > max {
				return deep(tk, max)
			}
			continue
		case token.SequenceEndType, token.MappingEndType:
			if flow > 0 {
				flow--
			}
			continue
		}
		if flow > 0 || !opensBlock(tokens, i) {
			continue
		}
		col := tk.Position.Column
		for len(block) > 0 && block[len(block)-1] > col {
			block = block[:len(block)-1]
		}
		if len(block) == 0 || block[len(block)-1] < col {
			block = append(block, col)
		}
		if len(block) > max {
			return deep(tk, max)
		}
	}
	return nil
}

// opensBlock reports whether tokens[i] starts an entry of a block collection: a list entry
// (-), an explicit key (?), or a key followed by ':'.
func opensBlock(tokens token.Tokens, i int) bool {
	switch tokens[i].Type {
	case token.SequenceEntryType, token.MappingKeyType:
		return true
	case token.MappingValueType, token.CommentType:
		return false
	}
	return i+1 < len(tokens) && tokens[i+1].Type == token.MappingValueType
}

func deep(tk *token.Token, max int) error {
	line, col := at(tk)
	return &Error{Line: line, Col: col, Msg: fmt.Sprintf("nested more than %d levels deep", max)}
}
