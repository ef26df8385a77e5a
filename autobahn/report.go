package autobahn

import (
	"encoding/json"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// Report collects results per agent and writes them in the original's
// layout: index.json (agent -> case ID -> verdicts, duration, reportfile),
// one JSON file per case, plus summary.md and index.html.
type Report struct {
	mu     sync.Mutex
	agents map[string]map[string]*Result
}

// NewReport returns an empty report.
func NewReport() *Report { return &Report{agents: map[string]map[string]*Result{}} }

// Add stores r, replacing an earlier result of the same agent and case.
// It is safe for concurrent use.
func (rep *Report) Add(r *Result) {
	rep.mu.Lock()
	defer rep.mu.Unlock()
	m := rep.agents[r.Agent]
	if m == nil {
		m = map[string]*Result{}
		rep.agents[r.Agent] = m
	}
	m[r.ID] = r
}

// Agents returns the agents with results, sorted.
func (rep *Report) Agents() []string {
	rep.mu.Lock()
	defer rep.mu.Unlock()
	var as []string
	for a := range rep.agents {
		as = append(as, a)
	}
	slices.Sort(as)
	return as
}

// Results returns agent's results in case ID order.
func (rep *Report) Results(agent string) []*Result {
	rep.mu.Lock()
	defer rep.mu.Unlock()
	var rs []*Result
	for _, r := range rep.agents[agent] {
		rs = append(rs, r)
	}
	slices.SortFunc(rs, func(a, b *Result) int { return compareIDs(a.ID, b.ID) })
	return rs
}

// ReportFile is the name of the per-case JSON file, as the original names
// it: the agent in lower case with other characters as "_", then the case ID.
func ReportFile(agent, id string) string {
	var b strings.Builder
	lastSep := true
	for _, r := range strings.ToLower(agent) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			lastSep = false
		} else if !lastSep {
			b.WriteByte('_')
			lastSep = true
		}
	}
	name := strings.TrimSuffix(b.String(), "_")
	return name + "_case_" + strings.ReplaceAll(id, ".", "_") + ".json"
}

// IndexEntry is one case of one agent in index.json.
type IndexEntry struct {
	Behavior        Verdict `json:"behavior"`
	BehaviorClose   Verdict `json:"behaviorClose"`
	Duration        int64   `json:"duration"`
	RemoteCloseCode *int    `json:"remoteCloseCode"`
	ReportFile      string  `json:"reportfile"`
}

// Index returns the content of index.json.
func (rep *Report) Index() map[string]map[string]IndexEntry {
	idx := map[string]map[string]IndexEntry{}
	for _, a := range rep.Agents() {
		m := map[string]IndexEntry{}
		for _, r := range rep.Results(a) {
			m[r.ID] = IndexEntry{Behavior: r.Behavior, BehaviorClose: r.BehaviorClose, Duration: r.Duration,
				RemoteCloseCode: r.RemoteCode, ReportFile: ReportFile(a, r.ID)}
		}
		idx[a] = m
	}
	return idx
}

// Write writes all report files into dir, creating it.
func (rep *Report) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, a := range rep.Agents() {
		for _, r := range rep.Results(a) {
			if err := writeJSON(filepath.Join(dir, ReportFile(a, r.ID)), r); err != nil {
				return err
			}
		}
	}
	if err := writeJSON(filepath.Join(dir, "index.json"), rep.Index()); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "summary.md"), []byte(rep.Summary()), 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "index.html"))
	if err != nil {
		return err
	}
	if err := rep.writeHTML(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// summaryVerdicts are the summary's columns, in order of increasing trouble.
var summaryVerdicts = []Verdict{OK, NonStrict, Informational, Unimplemented, Failed, WrongCode, Unclean, FailedByClient}

// Overall is the one verdict that sums up a result: the behavior when it is
// not OK, else the close behavior.
func (r *Result) Overall() Verdict {
	if r.Behavior != OK {
		return r.Behavior
	}
	return r.BehaviorClose
}

// Summary renders, per agent, a Markdown table of overall verdicts per
// section, then the cases that did not pass strictly.
func (rep *Report) Summary() string {
	var b strings.Builder
	for _, a := range rep.Agents() {
		rs := rep.Results(a)
		fmt.Fprintf(&b, "## %s\n\n| section | cases |", a)
		for _, v := range summaryVerdicts {
			fmt.Fprintf(&b, " %s |", v)
		}
		b.WriteString("\n|---|---:|" + strings.Repeat("---:|", len(summaryVerdicts)) + "\n")
		var sections []string
		counts := map[string]map[Verdict]int{}
		totals := map[Verdict]int{}
		for _, r := range rs {
			sec := Section(r.ID)
			if counts[sec] == nil {
				counts[sec] = map[Verdict]int{}
				sections = append(sections, sec)
			}
			counts[sec][r.Overall()]++
			counts[sec][""]++
			totals[r.Overall()]++
		}
		row := func(name string, n int, m map[Verdict]int) {
			fmt.Fprintf(&b, "| %s | %d |", name, n)
			for _, v := range summaryVerdicts {
				fmt.Fprintf(&b, " %d |", m[v])
			}
			b.WriteString("\n")
		}
		for _, sec := range sections {
			row(sec, counts[sec][""], counts[sec])
		}
		row("all", len(rs), totals)
		var bad []string
		for _, r := range rs {
			if !r.Passed() {
				line := fmt.Sprintf("- %s: behavior %s, close %s: %s / %s", r.ID, r.Behavior, r.BehaviorClose, r.Result, r.ResultClose)
				if r.NotCleanWhy != nil {
					line += " (" + *r.NotCleanWhy + ")"
				}
				bad = append(bad, line)
			}
		}
		if len(bad) == 0 {
			fmt.Fprintf(&b, "\nAll %d cases passed strictly.\n\n", len(rs))
		} else {
			fmt.Fprintf(&b, "\n%d of %d cases did not pass strictly:\n\n%s\n\n", len(bad), len(rs), strings.Join(bad, "\n"))
		}
	}
	return b.String()
}

var htmlReport = template.Must(template.New("index").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>WebSocket conformance report</title>
<style>
body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;font-size:13px}
.v-OK{background:#0a0;color:#fff}.v-NON-STRICT{background:#9c0}.v-INFORMATIONAL{background:#aaf}.v-UNIMPLEMENTED{background:#ccc}
.v-FAILED,.v-FAILED-BY-CLIENT{background:#e00;color:#fff}.v-WRONG-CODE,.v-UNCLEAN{background:#f90}
</style></head><body>
<h1>WebSocket conformance report</h1>
{{range .}}<h2>{{.Agent}}</h2>
<p>{{.Passed}} of {{len .Results}} cases passed strictly (OK, or INFORMATIONAL where the suite grades so for everyone).</p>
<table><tr><th>case</th><th>behavior</th><th>close</th><th>ms</th><th>description</th></tr>
{{range .Results}}<tr><td><a href="{{.File}}">{{.R.ID}}</a></td><td class="v-{{.B}}">{{.R.Behavior}}</td><td class="v-{{.BC}}">{{.R.BehaviorClose}}</td><td>{{.R.Duration}}</td><td>{{.R.Description}}</td></tr>
{{end}}</table>{{end}}
</body></html>
`))

func (rep *Report) writeHTML(f *os.File) error {
	type row struct {
		R     *Result
		File  string
		B, BC string
	}
	type agent struct {
		Agent   string
		Passed  int
		Results []row
	}
	var data []agent
	cls := func(v Verdict) string { return strings.ReplaceAll(string(v), " ", "-") }
	for _, a := range rep.Agents() {
		ag := agent{Agent: a}
		for _, r := range rep.Results(a) {
			ag.Results = append(ag.Results, row{R: r, File: ReportFile(a, r.ID), B: cls(r.Behavior), BC: cls(r.BehaviorClose)})
			if r.Passed() {
				ag.Passed++
			}
		}
		data = append(data, ag)
	}
	return htmlReport.Execute(f, data)
}
