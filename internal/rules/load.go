package rules

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// maxFileSize bounds one rules file: rules are hand-written, so a bigger file is a mistake
// (rulesLimits has the other bounds).
const maxFileSize = 1 << 20

// LoadDir loads the rule set of the *.yaml (and *.yml) files directly in dir; the tests/
// subdirectory and other subdirectories are not read. An empty directory gives a set without
// rules. Errors are a *LoadError that names every mistake with its file (as dir joined with
// the file name), line and column.
func LoadDir(dir string) (*Set, error) {
	return load(os.DirFS(dir), ".", func(name string) string { return filepath.Join(dir, name) })
}

// Load is LoadDir over a file system, for embedded rules and tests. Errors name files as
// dir joined with the file name.
func Load(fsys fs.FS, dir string) (*Set, error) {
	return load(fsys, dir, func(name string) string { return path.Join(dir, name) })
}

func load(fsys fs.FS, dir string, display func(string) string) (*Set, error) {
	names, err := ruleFiles(fsys, dir)
	if err != nil {
		return nil, &LoadError{Errs: []PosError{{File: display(""), Msg: "read rules directory: " + pathErrorText(err)}}}
	}
	var rs rawSet
	var errs []PosError
	broken := false // a file has a YAML syntax error
	h := sha256.New()
	for _, name := range names {
		src, err := readFile(fsys, path.Join(dir, name))
		if err != nil {
			errs = append(errs, PosError{File: display(name), Msg: fmt.Sprintf("read: %v", err)})
			continue
		}
		h.Write([]byte(name))
		h.Write([]byte{0})
		h.Write(src)
		h.Write([]byte{0})
		src = bytes.TrimPrefix(src, utf8BOM)
		ferrs, syntax := parseFile(display(name), src, &rs)
		errs = append(errs, ferrs...)
		broken = broken || syntax
	}
	s, cerrs := compile(append([]string{}, names...), &rs)
	if broken {
		// The ids a file that does not parse defines are unknown to the others: reporting
		// every reference to them would bury the one real mistake.
		cerrs = slices.DeleteFunc(cerrs, isReferenceError)
	}
	errs = append(errs, cerrs...)
	if len(errs) > 0 {
		sortErrors(errs)
		return nil, &LoadError{Errs: errs}
	}
	s.version = hex.EncodeToString(h.Sum(nil))[:16]
	return s, nil
}

// readFile reads a rules or rule test file of at most maxFileSize bytes; it reads no more
// than that of a larger one.
func readFile(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(src) > maxFileSize {
		return nil, fmt.Errorf("the file is larger than %d MiB", maxFileSize>>20)
	}
	return src, nil
}

// utf8BOM starts files that some Windows editors save; YAML does not need it.
var utf8BOM = []byte("\ufeff")

// referenceErrors are the messages of references to ids that another file may define.
var referenceErrors = []string{"unknown step ", "unknown goal step ", "unknown segment ", "unknown experiment ",
	"unknown prompt ", "unknown variant ", "unknown stage "}

// isReferenceError reports whether e is about a reference to an unknown id.
func isReferenceError(e PosError) bool {
	for _, r := range referenceErrors {
		if strings.Contains(e.Msg, r) {
			return true
		}
	}
	return false
}

// pathErrorText is the reason of a file system error without its operation and path: the
// path the fs.FS saw is relative ("open ."), and the caller names the real one.
func pathErrorText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// ruleFiles lists the rule files of dir in name order, so that a set always loads the same.
func ruleFiles(fsys fs.FS, dir string) ([]string, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") {
			continue
		}
		if ext := path.Ext(n); ext == ".yaml" || ext == ".yml" {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names, nil
}
