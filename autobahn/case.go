package autobahn

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Case is one conformance case, identified as in Autobahn|Testsuite.
type Case struct {
	ID          string // "1.1.1"
	Description string
	Expectation string
	// Run starts the case right after the opening handshake, on the
	// session loop: it states the expectations, sends, and sets timers.
	Run func(s *Session)
	// Judge, when set, adjusts the verdicts after the standard rules.
	Judge func(r *Result)
	// Offer lists the Sec-WebSocket-Extensions offers the suite makes as a
	// client (compression cases); empty for the others.
	Offer []string
	// Accept picks the extension response the suite gives as a server to
	// the client's offers ("" declines all). Nil declines all.
	Accept func(offers []string) string
}

var registry []*Case

// register adds cases to the registry. IDs must be unique.
func register(cs ...*Case) {
	for _, c := range cs {
		if slices.ContainsFunc(registry, func(o *Case) bool { return o.ID == c.ID }) {
			panic("autobahn: duplicate case " + c.ID)
		}
		registry = append(registry, c)
	}
	slices.SortFunc(registry, func(a, b *Case) int { return compareIDs(a.ID, b.ID) })
}

// Cases returns every case in the suite, in numeric ID order. The slice is a copy.
func Cases() []*Case { return slices.Clone(registry) }

// compareIDs orders "1.2.10" after "1.2.9".
func compareIDs(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		x, _ := strconv.Atoi(pa[i])
		y, _ := strconv.Atoi(pb[i])
		if x != y {
			return x - y
		}
	}
	return len(pa) - len(pb)
}

// Select returns the cases matching any include pattern and no exclude
// pattern, in ID order. Patterns are as in wstest's spec files: "*" matches
// any run of characters ("9.*", "*"), other text is literal, and a pattern
// with "*" needs to match only a prefix of the ID, as wstest's do ("*.1"
// selects 1.1.1 too); a pattern without "*" names one case and must exist.
func Select(include, exclude []string) ([]*Case, error) {
	in, err := matcher(include)
	if err != nil {
		return nil, err
	}
	out, err := matcher(exclude)
	if err != nil {
		return nil, err
	}
	var cs []*Case
	for _, c := range registry {
		if in(c.ID) && !out(c.ID) {
			cs = append(cs, c)
		}
	}
	return cs, nil
}

func matcher(patterns []string) (func(string) bool, error) {
	var res []*regexp.Regexp
	for _, p := range patterns {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !strings.Contains(p, "*") && !slices.ContainsFunc(registry, func(c *Case) bool { return c.ID == p }) {
			return nil, fmt.Errorf("autobahn: no case %q", p)
		}
		parts := strings.Split(p, "*")
		for i := range parts {
			parts[i] = regexp.QuoteMeta(parts[i])
		}
		re := "^" + strings.Join(parts, ".*")
		if len(parts) == 1 {
			re += "$"
		}
		res = append(res, regexp.MustCompile(re))
	}
	return func(id string) bool {
		for _, re := range res {
			if re.MatchString(id) {
				return true
			}
		}
		return false
	}, nil
}

// SplitPatterns splits a comma-separated pattern list, as the command line gives it.
func SplitPatterns(s string) []string {
	var ps []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			ps = append(ps, p)
		}
	}
	return ps
}

// Section returns the first component of a case ID ("9" for "9.7.1").
func Section(id string) string {
	s, _, _ := strings.Cut(id, ".")
	return s
}
