package calibrate

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/autobahn"
)

// script reduces a wire log to what the suite decided to do: the frames it
// sent (opcode, FIN, RSV, length, start of the payload, repetition, chop,
// sync) and the timers it set, in order. Masks, received data and the
// moments timers fired are left out; so is the text of close reasons, which
// is free.
func script(t *testing.T, wirelog any) []string {
	t.Helper()
	b, err := json.Marshal(wirelog)
	require.NoError(t, err)
	var rows [][]any
	require.NoError(t, json.Unmarshal(b, &rows))
	var out []string
	for _, r := range rows {
		switch r[0] {
		case "TF":
			data := r[1].([]any)
			n, payload := data[0], fmt.Sprint(data[1])
			if r[2] == float64(8) && len(payload) > 6 && failCodes[payload[:6]] {
				// A close that fails the connection: its reason is free text.
				n, payload = "-", payload[:6]
			}
			if len(payload) > 80 {
				payload = payload[:80]
			}
			out = append(out, fmt.Sprint("TF ", n, " ", payload, " ", r[2:3], r[3:4], r[4:5], r[6:]))
		case "CT", "KL", "TI":
			out = append(out, fmt.Sprint(r...))
		}
	}
	return out
}

// failCodes are the codes, in the wire log's hex, of the close frames the
// protocol engine sends when it fails a connection: 1001, 1002, 1007.
var failCodes = map[string]bool{"0x03e9": true, "0x03ea": true, "0x03ef": true}

// caseJSON is the part of a per-case report that calibration compares.
type caseJSON struct {
	Wirelog       any `json:"wirelog"`
	Expected      any `json:"expected"`
	ExpectedClose any `json:"expectedClose"`
	Received      any `json:"received"`
}

// compareWire checks, case by case, that the suite sent the same frames,
// split and timed the same way, expected the same events and close, and
// received the same events as the original did in the reference run. What a
// peer sends back can depend on timing (7.1.6 kills the connection a second
// after its close, whether or not the peer has echoed 256 KiB by then): when
// rerun is set and only the received events differ, the case runs once more
// and its second run must receive what the original did.
func compareWire(t *testing.T, folder, refDir string, rep *autobahn.Report, rerun func(id string) *autobahn.Result) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(refDir, "index.json"))
	require.NoError(t, err)
	var idx map[string]map[string]struct {
		ReportFile string `json:"reportfile"`
	}
	require.NoError(t, json.Unmarshal(b, &idx))
	var ref map[string]struct {
		ReportFile string `json:"reportfile"`
	}
	for _, m := range idx {
		ref = m
	}
	b, err = os.ReadFile(filepath.Join(refDir, "cases.json"))
	require.NoError(t, err)
	var refCases map[string]caseJSON
	require.NoError(t, json.Unmarshal(b, &refCases))
	same := 0
	rs := rep.Results(rep.Agents()[0])
	for _, r := range rs {
		refCase, found := refCases[ref[r.ID].ReportFile]
		require.True(t, found, "%s %s: no reference report", folder, r.ID)
		ours := reportJSON(t, r)
		ok := assert.Equal(t, script(t, refCase.Wirelog), script(t, ours.Wirelog), "%s %s: frames and timers sent", folder, r.ID)
		ok = assert.Equal(t, refCase.Expected, ours.Expected, "%s %s: expected events", folder, r.ID) && ok
		ok = assert.Equal(t, refCase.ExpectedClose, ours.ExpectedClose, "%s %s: expected close", folder, r.ID) && ok
		if rerun != nil && ok && !assert.ObjectsAreEqual(refCase.Received, ours.Received) {
			t.Logf("%s %s: received %v where the original received %v; running it again", folder, r.ID, ours.Received, refCase.Received)
			ours = reportJSON(t, rerun(r.ID))
		}
		ok = assert.Equal(t, refCase.Received, ours.Received, "%s %s: received events", folder, r.ID) && ok
		if ok {
			same++
		}
	}
	t.Logf("%s: same frames, timers, expectations and received events as the original in %d of %d cases", folder, same, len(rs))
}

// reportJSON is the part of r's report that calibration compares.
func reportJSON(t *testing.T, r *autobahn.Result) caseJSON {
	t.Helper()
	b, err := json.Marshal(r)
	require.NoError(t, err)
	var c caseJSON
	require.NoError(t, json.Unmarshal(b, &c))
	return c
}
