package server

import (
	"math/rand/v2"
	"net"
	"runtime/debug"
	"strings"

	"github.com/miekg/dns"
)

// serverUDPSize is the EDNS0 buffer size the server advertises and the largest UDP answer
// it sends, whatever bigger size a client advertises.
const serverUDPSize = dns.DefaultMsgSize

// ServeDNS answers one query (dns.Handler). Names in the Mesos domain are answered from the
// record set; other names are forwarded. Every query gets exactly one reply, even if
// answering panics (SERVFAIL).
func (s *Server) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("dns handler panic", "panic", p, "stack", string(debug.Stack()))
			m := new(dns.Msg)
			m.SetRcode(r, dns.RcodeServerFailure)
			m.Answer, m.Ns, m.Extra = nil, nil, nil
			s.write(w, r, m, nil)
		}
	}()
	opt, rcode := checkQuery(r)
	if rcode != dns.RcodeSuccess {
		s.write(w, r, errorReply(r, rcode, opt), opt)
		return
	}
	q := r.Question[0]
	name := strings.ToLower(q.Name)
	if s.inZone(name) {
		if strings.Contains(name, ".*") { // Mesos-DNS strips ".*" wildcard fragments
			name = strings.ReplaceAll(name, ".*", "")
		}
		s.serveAuthoritative(w, r, q, name, opt)
		return
	}
	if s.fwd == nil {
		s.write(w, r, errorReply(r, dns.RcodeRefused, opt), opt)
		return
	}
	s.write(w, r, s.forward(r, q, name, opt, isTCP(w)), opt)
}

// inZone reports whether the lower-case name is the Mesos domain or below it. A dot that
// ends the match must not be escaped: a\.mesos. is a single label outside the domain.
func (s *Server) inZone(name string) bool {
	if name == s.zone {
		return true
	}
	if !strings.HasSuffix(name, s.zoneSuffix) {
		return false
	}
	n := 0
	for i := len(name) - len(s.zoneSuffix) - 1; i >= 0 && name[i] == '\\'; i-- {
		n++
	}
	return n%2 == 0
}

// checkQuery vets what the accept function lets through (and what a fuzzer sends straight
// to the handler): it returns the request's OPT record, if any, and the rcode to answer with
// when the request cannot be answered normally.
func checkQuery(r *dns.Msg) (*dns.OPT, int) {
	var opt *dns.OPT
	nopt := 0
	for _, rr := range r.Extra {
		if o, ok := rr.(*dns.OPT); ok {
			opt = o
			nopt++
		}
	}
	switch {
	case r.Response:
		return opt, dns.RcodeFormatError
	case r.Opcode != dns.OpcodeQuery:
		return opt, dns.RcodeNotImplemented
	case len(r.Question) != 1, nopt > 1, nopt == 1 && opt.Hdr.Name != ".":
		return opt, dns.RcodeFormatError
	case opt != nil && opt.Version() != 0:
		return opt, dns.RcodeBadVers
	}
	switch r.Question[0].Qclass {
	case dns.ClassINET, dns.ClassANY:
	default:
		return opt, dns.RcodeNotImplemented
	}
	switch r.Question[0].Qtype {
	case dns.TypeOPT:
		return opt, dns.RcodeFormatError
	}
	return opt, dns.RcodeSuccess
}

// errorReply is an empty reply with rcode, echoing at most one question.
func errorReply(r *dns.Msg, rcode int, opt *dns.OPT) *dns.Msg {
	m := new(dns.Msg)
	m.Id = r.Id
	m.Response = true
	m.Opcode = r.Opcode
	m.RecursionDesired = r.RecursionDesired
	m.CheckingDisabled = r.CheckingDisabled
	if len(r.Question) == 1 {
		m.Question = []dns.Question{r.Question[0]}
	}
	m.Rcode = rcode
	if rcode == dns.RcodeBadVers && opt == nil {
		m.Rcode = dns.RcodeFormatError // cannot happen: BADVERS needs an OPT
	}
	return m
}

// isTCP reports whether w's client came over TCP.
func isTCP(w dns.ResponseWriter) bool {
	_, ok := w.RemoteAddr().(*net.TCPAddr)
	return ok
}

// write finishes m for the client's transport (finish) and sends it.
func (s *Server) write(w dns.ResponseWriter, r, m *dns.Msg, opt *dns.OPT) {
	size, setTC := s.answerLimits(opt, isTCP(w))
	s.finish(m, opt, size, setTC)
	var qtype uint16
	if len(r.Question) == 1 {
		qtype = r.Question[0].Qtype
	}
	// Counted before the write, so a client that has its answer also sees it counted.
	s.metrics.countQuery(qtype, m.Rcode)
	if err := w.WriteMsg(m); err != nil {
		s.log.Debug("dns write failed", "err", err)
	}
}

// finish readies m for sending: an OPT record if the query had one, truncation to size (512
// bytes, the client's EDNS0 size up to serverUDPSize, or 64 KiB over TCP) with TC only when
// setTC, name compression.
func (s *Server) finish(m *dns.Msg, opt *dns.OPT, size int, setTC bool) {
	if opt != nil {
		o := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT, Class: serverUDPSize}}
		if opt.Do() {
			o.SetDo() // RFC 3225 §3: the DO bit is copied into the response
		}
		m.Extra = append(m.Extra, o)
	}
	m.Truncate(size)
	if !setTC {
		m.Truncated = false
	}
	m.Compress = true
}

// shuffle reorders rrs at random: Mesos-DNS' poor man's load balancing.
func shuffle(rrs []dns.RR) {
	if len(rrs) > 1 {
		rand.Shuffle(len(rrs), func(i, j int) { rrs[i], rrs[j] = rrs[j], rrs[i] })
	}
}
