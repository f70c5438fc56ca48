// Package rules turns the marketers' YAML rule files into an immutable, compiled Set and
// evaluates it inside every hit: which journey steps a hit reaches, which segments a visitor
// is in, which content variant each page slot shows, which experiment arm a visitor gets, and
// which survey or chat prompt the snippet should arm.
//
// Loading is parse → validate → compile: every file in the rules directory is decoded
// strictly from its YAML syntax tree, so that every mistake (an unknown key, a wrong type, an
// unknown step, a bad regex, a duplicate id, an impossible weight) is reported at once as
// file:line:col: message. Conditions and content templates are compiled into closures over a
// typed Context at load time; deciding for a visitor never interprets YAML and allocates
// little, so a Set can be consulted on every request. A Set never changes after it is built:
// a reload builds a new one and swaps it in atomically.
//
// The rule file format, every condition operator and the context fields are documented for
// marketers in rules/README.md at the repository root.
package rules
