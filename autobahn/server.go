package autobahn

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// Server is the original's fuzzingserver mode: a client under test connects
// once per case to /runCase?case=N&agent=A (N counts from 1 over Cases),
// asks /getCaseCount first and /updateReports?agent=A at the end, which
// writes the reports to Out. It speaks raw TCP, not net/http, so that it
// can send what a correct server never would.
type Server struct {
	Cases  []*Case
	Out    string    // report directory for /updateReports; empty: no files
	Log    io.Writer // progress lines; nil: none
	Report *Report   // results so far; created by Serve when nil

	mu sync.Mutex
}

// Serve accepts connections on ln until ctx is done or ln fails, and waits
// for the connections it started before returning.
func (srv *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv.mu.Lock()
	if srv.Report == nil {
		srv.Report = NewReport()
	}
	srv.mu.Unlock()
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			srv.serveConn(ctx, nc)
		}()
	}
}

func (srv *Server) logf(format string, args ...any) {
	if srv.Log == nil {
		return
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	fmt.Fprintf(srv.Log, format, args...)
}

func (srv *Server) serveConn(ctx context.Context, nc net.Conn) {
	ctx, cancel := context.WithTimeout(ctx, caseTimeout)
	defer cancel()
	_ = nc.SetDeadline(time.Now().Add(handshakeTimeout))
	br := bufio.NewReader(nc)
	req, err := readClientRequest(br)
	if err == nil {
		err = srv.route(req)
	}
	if err != nil {
		_, _ = io.WriteString(nc, refusal(err))
		_ = nc.Close()
		return
	}
	c, index, agent := srv.caseFor(req)
	ext := ""
	if c.Accept != nil {
		ext = c.Accept(req.offers)
	}
	resp := acceptResponse(req, ext)
	if _, err := io.WriteString(nc, resp); err != nil {
		_ = nc.Close()
		return
	}
	_ = nc.SetDeadline(time.Time{})
	s := newSession(c, nc, br, true)
	s.extensions = ext
	s.run(ctx)
	if index == 0 {
		return
	}
	r := s.resultFor(agent, index)
	r.HTTPRequest, r.HTTPResponse = req.raw, resp
	srv.Report.Add(r)
	srv.logf("%-8s %-14s %-14s %5dms %s\n", r.ID, r.Behavior, r.BehaviorClose, r.Duration, agent)
}

// errUnknownPath answers a request for a path the server does not serve.
var errUnknownPath = &HandshakeError{Status: 404, Reason: "unknown path"}

// route checks the request's path and parameters.
func (srv *Server) route(req *serverRequest) error {
	switch req.path {
	case "/getCaseCount":
		return nil
	case "/updateReports":
		if req.query.Get("agent") == "" {
			return &HandshakeError{Status: 400, Reason: "agent missing"}
		}
		return nil
	case "/runCase":
		n, err := strconv.Atoi(req.query.Get("case"))
		if err != nil || n < 1 || n > len(srv.Cases) {
			return &HandshakeError{Status: 400, Reason: "case must be 1-" + strconv.Itoa(len(srv.Cases))}
		}
		if req.query.Get("agent") == "" {
			return &HandshakeError{Status: 400, Reason: "agent missing"}
		}
		return nil
	}
	return errUnknownPath
}

// caseFor returns the case to run for req: a test case with its 1-based
// index, or a command (index 0) that sends its answer and closes.
func (srv *Server) caseFor(req *serverRequest) (*Case, int, string) {
	agent := req.query.Get("agent")
	switch req.path {
	case "/getCaseCount":
		count := []byte(strconv.Itoa(len(srv.Cases)))
		return &Case{ID: "getCaseCount", Run: func(s *Session) {
			s.Send(OpText, count)
			s.Close(1000)
		}}, 0, agent
	case "/updateReports":
		return &Case{ID: "updateReports", Run: func(s *Session) {
			if srv.Out != "" {
				if err := srv.Report.Write(srv.Out); err != nil {
					srv.logf("writing reports: %v\n", err)
				}
			}
			s.Close(1000)
		}}, 0, agent
	}
	n, _ := strconv.Atoi(req.query.Get("case"))
	return srv.Cases[n-1], n, agent
}

// ErrNoCases is returned when a run selects no case.
var ErrNoCases = errors.New("autobahn: no case selected")
