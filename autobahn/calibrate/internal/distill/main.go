// Command distill copies the reference reports of the original
// Autobahn|Testsuite into the calibration's testdata: each folder's
// index.json whole, and of its case reports only what calibration compares
// (the wire log, what was expected and what was received), gathered in one
// cases.json keyed by report file name, so that the repository carries its
// own reference in eight files at a sixth of the size.
//
//	go run ./internal/distill -from /path/to/reports -to testdata/reference
//
// The source holds servers/<peer>/ and clients/<peer>/ folders, each with
// index.json and one JSON per case, as the original writes them.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// kept are the fields of a case report that calibration reads.
var kept = []string{"wirelog", "expected", "expectedClose", "received"}

func main() {
	from := flag.String("from", "", "folder with servers/ and clients/ reference reports")
	to := flag.String("to", "testdata/reference", "folder to write")
	flag.Parse()
	if *from == "" {
		fmt.Fprintln(os.Stderr, "distill: -from is required")
		os.Exit(2)
	}
	if err := distill(*from, *to); err != nil {
		fmt.Fprintln(os.Stderr, "distill:", err)
		os.Exit(1)
	}
}

func distill(from, to string) error {
	folders, err := filepath.Glob(filepath.Join(from, "*", "*", "index.json"))
	if err != nil {
		return err
	}
	if len(folders) == 0 {
		return fmt.Errorf("no */*/index.json under %s", from)
	}
	for _, idx := range folders {
		src := filepath.Dir(idx)
		rel, err := filepath.Rel(from, src)
		if err != nil {
			return err
		}
		if err := distillFolder(src, filepath.Join(to, rel)); err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
	}
	return nil
}

func distillFolder(src, dst string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(src, "index.json"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dst, "index.json"), b, 0o644); err != nil {
		return err
	}
	var idx map[string]map[string]struct {
		ReportFile string `json:"reportfile"`
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		return fmt.Errorf("index.json: %w", err)
	}
	all := make(map[string]map[string]json.RawMessage)
	for _, cases := range idx {
		for id, c := range cases {
			name := filepath.Base(c.ReportFile)
			if name == "." || strings.HasPrefix(name, "..") || name != c.ReportFile {
				return fmt.Errorf("case %s: report file %q is not a plain name", id, c.ReportFile)
			}
			kc, err := distillCase(filepath.Join(src, name))
			if err != nil {
				return fmt.Errorf("case %s: %w", id, err)
			}
			all[name] = kc
		}
	}
	// One case a line: a change to the reference shows as a small diff.
	var out []byte
	out = append(out, "{\n"...)
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	for i, n := range names {
		k, _ := json.Marshal(n)
		v, err := json.Marshal(all[n])
		if err != nil {
			return err
		}
		out = append(append(append(out, k...), ':'), v...)
		if i < len(names)-1 {
			out = append(out, ',')
		}
		out = append(out, '\n')
	}
	out = append(out, "}\n"...)
	return os.WriteFile(filepath.Join(dst, "cases.json"), out, 0o644)
}

// distillCase returns the fields of one case report that calibration reads.
func distillCase(src string) (map[string]json.RawMessage, error) {
	b, err := os.ReadFile(src)
	if err != nil {
		return nil, err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, err
	}
	out := make(map[string]json.RawMessage, len(kept))
	for _, k := range kept {
		if v, ok := all[k]; ok {
			out[k] = v
		}
	}
	return out, nil
}
