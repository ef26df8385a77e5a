package autobahn

import "time"

// Result is the report of one case for one agent, with the fields of the
// original's per-case JSON.
type Result struct {
	Agent         string        `json:"agent"`
	Case          int           `json:"case"` // 1-based position in the run
	ID            string        `json:"id"`
	Description   string        `json:"description"`
	Expectation   string        `json:"expectation"`
	Started       string        `json:"started"`
	Duration      int64         `json:"duration"` // milliseconds
	ReportTime    bool          `json:"reportTime"`
	Behavior      Verdict       `json:"behavior"`
	BehaviorClose Verdict       `json:"behaviorClose"`
	Result        string        `json:"result"`
	ResultClose   string        `json:"resultClose"`
	Expected      expectedJSON  `json:"expected"`
	ExpectedClose CloseExpect   `json:"expectedClose"`
	Received      []Event       `json:"received"`
	ClosedByMe    bool          `json:"closedByMe"`
	FailedByMe    bool          `json:"failedByMe"`
	DroppedByMe   bool          `json:"droppedByMe"`
	WasClean      bool          `json:"wasClean"`
	NotCleanWhy   *string       `json:"wasNotCleanReason"`
	DropTimeout   bool          `json:"wasServerConnectionDropTimeout"`
	CloseTimeout  bool          `json:"wasCloseHandshakeTimeout"`
	LocalCode     *int          `json:"localCloseCode"`
	LocalReason   *string       `json:"localCloseReason"`
	RemoteCode    *int          `json:"remoteCloseCode"`
	RemoteReason  *string       `json:"remoteCloseReason"`
	IsServer      bool          `json:"isServer"`
	HTTPRequest   string        `json:"httpRequest"`
	HTTPResponse  string        `json:"httpResponse"`
	RxFrameStats  map[int]int   `json:"rxFrameStats"`
	TxFrameStats  map[int]int   `json:"txFrameStats"`
	RxOctetStats  map[int]int   `json:"rxOctetStats"`
	TxOctetStats  map[int]int   `json:"txOctetStats"`
	Wirelog       []any         `json:"wirelog"`
	Elapsed       time.Duration `json:"-"`
}

// Passed reports whether the case passed strictly: both verdicts OK, or
// INFORMATIONAL where the suite grades so for everyone.
func (r *Result) Passed() bool { return r.Behavior.Passed() && r.BehaviorClose.Passed() }

// expectedJSON writes alternatives as the original's {"OK": [...], ...}.
type expectedJSON []Alternative

// MarshalJSON keeps the alternatives in their order.
func (e expectedJSON) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, a := range e {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, a.Verdict...)
		b = append(b, '"', ':')
		evs, err := marshalEvents(a.Events)
		if err != nil {
			return nil, err
		}
		b = append(b, evs...)
	}
	return append(b, '}'), nil
}

func optInt(v int) *int {
	if v == 0 {
		return nil
	}
	return &v
}

func optString(v string) *string {
	if v == "" {
		return nil
	}
	return &v
}

// result builds the report of a finished session.
func (s *Session) resultFor(agent string, index int) *Result {
	j := Judge(s.alts, s.expectClose, Outcome{
		Received: s.received, ClosedByMe: s.closedByMe, DroppedByMe: s.droppedByMe,
		WasClean: s.wasClean, RemoteCloseCode: s.remoteCloseCode, IsServer: s.isServer,
	}, s.behavior, s.result)
	received := s.received
	if received == nil {
		received = []Event{}
	}
	r := &Result{
		Agent: agent, Case: index, ID: s.c.ID, Description: s.c.Description, Expectation: s.c.Expectation,
		Started:  s.started.UTC().Format("2006-01-02T15:04:05.000Z"),
		Duration: s.ended.Sub(s.started).Milliseconds(), Elapsed: s.ended.Sub(s.started),
		ReportTime: s.reportTime,
		Behavior:   j.Behavior, BehaviorClose: j.BehaviorClose, Result: j.Result, ResultClose: j.ResultClose,
		Expected: expectedJSON(s.alts), ExpectedClose: s.expectClose, Received: received,
		ClosedByMe: s.closedByMe, FailedByMe: s.failedByMe, DroppedByMe: s.droppedByMe, WasClean: s.wasClean,
		NotCleanWhy: optString(s.wasNotCleanReason), DropTimeout: s.wasServerDropTimeout, CloseTimeout: s.wasCloseHandshakeTimeout,
		LocalCode: s.localCloseCode, LocalReason: s.localCloseReason,
		RemoteCode: optInt(s.remoteCloseCode), RemoteReason: s.remoteCloseReason,
		IsServer: s.isServer,
	}
	s.logMu.Lock()
	r.Wirelog, r.RxFrameStats, r.TxFrameStats = s.wirelog, s.rxFrameStats, s.txFrameStats
	r.RxOctetStats, r.TxOctetStats = s.rxOctets, s.txOctets
	s.logMu.Unlock()
	if s.c.Judge != nil {
		s.c.Judge(r)
	}
	return r
}
