package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"

	"duplex/conn"
	"duplex/frame"
)

// driver runs a fuzzing server's cases with the duplex client. The URL
// scheme and the endpoints (getCaseCount, runCase, updateReports) are the
// Autobahn fuzzing server's.
type driver struct {
	log   *slog.Logger
	base  string // server URL without a trailing slash
	agent string
	opts  *conn.DialOptions
}

// runClient runs the selected cases (all when spec is empty) against the
// fuzzing server at base, then asks it to write the reports.
func runClient(ctx context.Context, log *slog.Logger, s settings, base, agent, spec string) error {
	d := &driver{
		log:   log,
		base:  strings.TrimSuffix(base, "/"),
		agent: agent,
		opts:  &conn.DialOptions{Options: s.connOptions()},
	}
	n, err := d.caseCount(ctx)
	if err != nil {
		return err
	}
	cases, err := parseCases(spec, n)
	if err != nil {
		return err
	}
	log.Info("running cases", "count", len(cases), "of", n, "agent", agent)
	for _, i := range cases {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := d.runCase(ctx, i); err != nil {
			return err
		}
	}
	return d.updateReports(ctx)
}

// endpoint returns the URL of one of the server's endpoints.
func (d *driver) endpoint(path string, q url.Values) string {
	u := d.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// caseCount reads the number of cases: the server sends it as one text
// message.
func (d *driver) caseCount(ctx context.Context) (int, error) {
	c, _, err := conn.Dial(ctx, d.endpoint("/getCaseCount", nil), d.opts)
	if err != nil {
		return 0, err
	}
	defer c.CloseNow()
	t, b, err := c.ReadMessage(ctx)
	if err != nil {
		return 0, fmt.Errorf("read case count: %w", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if t != conn.MessageText || err != nil || n < 0 {
		return 0, fmt.Errorf("case count: want a number in a text message, got %s %q", t, b)
	}
	_ = c.Close(frame.CloseNormal, "")
	return n, nil
}

// runCase echoes on case i's connection until the case closes it. How the
// connection ends is the case's verdict to make, not an error of the run;
// only a failed dial stops the run.
func (d *driver) runCase(ctx context.Context, i int) error {
	q := url.Values{"case": {strconv.Itoa(i)}, "agent": {d.agent}}
	c, _, err := conn.Dial(ctx, d.endpoint("/runCase", q), d.opts)
	if err != nil {
		return fmt.Errorf("case %d: %w", i, err)
	}
	err = echo(ctx, c)
	_ = c.CloseNow()
	logEnd(d.log.With("case", i), err)
	return nil
}

// updateReports asks the server to write the reports for the agent and waits
// for it to close the connection when they are done.
func (d *driver) updateReports(ctx context.Context) error {
	q := url.Values{"agent": {d.agent}}
	c, _, err := conn.Dial(ctx, d.endpoint("/updateReports", q), d.opts)
	if err != nil {
		return err
	}
	defer c.CloseNow()
	for {
		_, _, err := c.ReadMessage(ctx)
		var ce conn.CloseError
		if errors.As(err, &ce) {
			d.log.Info("reports updated", "agent", d.agent)
			return nil
		}
		if err != nil {
			return fmt.Errorf("update reports: %w", err)
		}
	}
}

// parseCases parses a case selection such as "1..10,42,300.." for a server
// with n cases; "" selects all. Cases are numbered from 1.
func parseCases(spec string, n int) ([]int, error) {
	if strings.TrimSpace(spec) == "" {
		if n == 0 {
			return nil, nil
		}
		spec = "1.."
	}
	var cases []int
	for part := range strings.SplitSeq(spec, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "..")
		first, err := strconv.Atoi(lo)
		if err != nil {
			return nil, fmt.Errorf("cases %q: %w", part, err)
		}
		last := first
		if isRange {
			last = n
			if hi != "" {
				if last, err = strconv.Atoi(hi); err != nil {
					return nil, fmt.Errorf("cases %q: %w", part, err)
				}
			}
		}
		if first < 1 || last > n || first > last {
			return nil, fmt.Errorf("cases %q: out of range 1..%d", part, n)
		}
		for i := first; i <= last; i++ {
			cases = append(cases, i)
		}
	}
	return cases, nil
}
