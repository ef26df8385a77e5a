package autobahn_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/autobahn"
)

func TestReportFile(t *testing.T) {
	assert.Equal(t, "gorilla_copyfull_case_1_1_1.json", autobahn.ReportFile("gorilla-CopyFull", "1.1.1"))
	assert.Equal(t, "coder_v1_8_15_case_7_13_2.json", autobahn.ReportFile("coder-v1.8.15", "7.13.2"))
}

func TestReportLayout(t *testing.T) {
	rep := autobahn.NewReport()
	rep.Add(&autobahn.Result{Agent: "a", ID: "2.10", Behavior: autobahn.OK, BehaviorClose: autobahn.OK, Duration: 3})
	rep.Add(&autobahn.Result{Agent: "a", ID: "2.9", Behavior: autobahn.Failed, BehaviorClose: autobahn.OK, Result: "differs"})
	rep.Add(&autobahn.Result{Agent: "a", ID: "7.1.6", Behavior: autobahn.Informational, BehaviorClose: autobahn.Informational})
	dir := t.TempDir()
	require.NoError(t, rep.Write(dir))

	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	require.NoError(t, err)
	var idx map[string]map[string]map[string]any
	require.NoError(t, json.Unmarshal(b, &idx))
	require.Contains(t, idx, "a")
	assert.Len(t, idx["a"], 3)
	e := idx["a"]["2.10"]
	assert.Equal(t, "OK", e["behavior"])
	assert.Equal(t, "OK", e["behaviorClose"])
	assert.EqualValues(t, 3, e["duration"])
	assert.Equal(t, "a_case_2_10.json", e["reportfile"])
	for id := range idx["a"] {
		_, err := os.Stat(filepath.Join(dir, autobahn.ReportFile("a", id)))
		assert.NoError(t, err, "per-case file of %s", id)
	}

	sum, err := os.ReadFile(filepath.Join(dir, "summary.md"))
	require.NoError(t, err)
	assert.Contains(t, string(sum), "| 2 | 2 | 1 | 0 | 0 | 0 | 1 |", "section 2: one OK, one FAILED")
	assert.Contains(t, string(sum), "| 7 | 1 | 0 | 0 | 1 |", "section 7: one INFORMATIONAL")
	assert.Contains(t, string(sum), "1 of 3 cases did not pass strictly")
	assert.Contains(t, string(sum), "- 2.9: behavior FAILED")

	html, err := os.ReadFile(filepath.Join(dir, "index.html"))
	require.NoError(t, err)
	assert.Contains(t, string(html), `href="a_case_2_9.json"`)
	assert.Contains(t, string(html), "2 of 3 cases passed strictly")
	assert.Contains(t, string(html), `class="v-FAILED"`)
	assert.Less(t, strings.Index(string(html), ">2.9<"), strings.Index(string(html), ">2.10<"), "numeric order")
}

func TestResultJSONUsesOriginalFields(t *testing.T) {
	code := 1000
	r := &autobahn.Result{ID: "1.1.1", Behavior: autobahn.OK, BehaviorClose: autobahn.OK, RemoteCode: &code,
		Received: []autobahn.Event{autobahn.Message(autobahn.OpText, []byte("hi")), autobahn.Message(autobahn.OpBinary, []byte{0xfe}), autobahn.Timeout("A")}}
	b, err := json.Marshal(r)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	for _, k := range []string{"behavior", "behaviorClose", "duration", "description", "expectation", "expected", "expectedClose",
		"received", "closedByMe", "droppedByMe", "failedByMe", "wasClean", "remoteCloseCode", "wirelog"} {
		assert.Contains(t, m, k)
	}
	assert.Equal(t, `[["message","hi",false],["message","0xfe",true],["timeout","A"]]`, mustJSON(t, m["received"]))
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// Example_selection selects cases with wstest-style patterns.
func Example_selection() {
	cs, err := autobahn.Select([]string{"7.13.*", "2.1*"}, []string{"2.11"})
	if err != nil {
		panic(err)
	}
	for _, c := range cs {
		fmt.Println(c.ID)
	}
	// Output:
	// 2.1
	// 2.10
	// 7.13.1
	// 7.13.2
}
