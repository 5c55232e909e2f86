package server

import (
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"strata/dns/records"
)

// srvPorts returns the sorted ports of the SRV answers of m.
func srvPorts(m *dns.Msg) []uint16 {
	var ports []uint16
	for _, rr := range m.Answer {
		if srv, ok := rr.(*dns.SRV); ok {
			ports = append(ports, srv.Port)
		}
	}
	slices.Sort(ports)
	return ports
}

func answerOrder(m *dns.Msg) string {
	var sb strings.Builder
	for _, rr := range m.Answer {
		sb.WriteString(rr.String())
		sb.WriteByte('|')
	}
	return sb.String()
}

// A reply from the packed-answer cache is the reply to the query at hand (its ID, RD and CD,
// the question's case), holds the same records as a freshly built one, keeps the shuffle,
// and reflects a change of the record set at once.
func TestAnswerCache(t *testing.T) {
	s := startServer(t, testConfig(), Options{})
	const name = "_big._tcp.marathon.mesos."
	want := srvPorts(ask(t, s.addr, "tcp", name, dns.TypeSRV, 0))
	if len(want) != bigApp {
		t.Fatalf("%d SRV records over TCP, want %d", len(want), bigApp)
	}

	orders := map[string]bool{}
	for i := range 60 {
		q := new(dns.Msg)
		q.SetQuestion("_BIG._tcp.Marathon.mesos.", dns.TypeSRV)
		q.Id = uint16(1000 + i)
		q.RecursionDesired = i%2 == 0
		q.CheckingDisabled = i%3 == 0
		r := exchange(t, s.addr, "tcp", q)
		if r.Id != q.Id || r.RecursionDesired != q.RecursionDesired || r.CheckingDisabled != q.CheckingDisabled {
			t.Fatalf("reply %d: id %d RD %v CD %v, want %d %v %v", i, r.Id, r.RecursionDesired, r.CheckingDisabled,
				q.Id, q.RecursionDesired, q.CheckingDisabled)
		}
		if !r.Authoritative || r.Rcode != dns.RcodeSuccess || r.Question[0].Name != q.Question[0].Name {
			t.Fatalf("reply %d: AA %v rcode %s question %v", i, r.Authoritative, dns.RcodeToString[r.Rcode], r.Question)
		}
		if r.Answer[0].Header().Name != q.Question[0].Name {
			t.Fatalf("reply %d: owner %q, want the question's case %q", i, r.Answer[0].Header().Name, q.Question[0].Name)
		}
		if got := srvPorts(r); !slices.Equal(got, want) {
			t.Fatalf("reply %d: ports %v, want %v", i, got, want)
		}
		orders[answerOrder(r)] = true
	}
	if len(orders) < 2 {
		t.Errorf("60 replies in %d order(s): the cache must keep several shuffles", len(orders))
	}
	if n := s.answers.len(); n != 2 { // the lower-case TCP question and the mixed-case one
		t.Errorf("%d questions cached, want 2", n)
	}

	// Over UDP without EDNS0 the same question is truncated with TC, with EDNS0 4096 it fits.
	udp := ask(t, s.addr, "udp", name, dns.TypeSRV, 0)
	edns := ask(t, s.addr, "udp", name, dns.TypeSRV, 4096)
	if !udp.Truncated || len(udp.Answer) >= bigApp {
		t.Errorf("UDP without EDNS0: TC %v with %d answers", udp.Truncated, len(udp.Answer))
	}
	if edns.Truncated || len(edns.Answer) != bigApp || edns.IsEdns0() == nil {
		t.Errorf("UDP with EDNS0: TC %v with %d answers, OPT %v", edns.Truncated, len(edns.Answer), edns.IsEdns0())
	}

	// A new task is in the very next answer; a removed one is gone from it.
	s.set.UpsertTask(records.Task{ID: "big.new", Name: "big", FrameworkID: "fw-0", AgentID: "agent-S1",
		State: records.TaskRunning, Statuses: []records.Status{running(2)},
		Ports: []records.PortRange{{Begin: 33333, End: 33333}}})
	if got := srvPorts(ask(t, s.addr, "tcp", name, dns.TypeSRV, 0)); !slices.Contains(got, 33333) || len(got) != bigApp+1 {
		t.Errorf("after adding a task: %d ports, 33333 in them: %v", len(got), slices.Contains(got, 33333))
	}
	s.set.RemoveTask("fw-0", "big.0")
	if got := srvPorts(ask(t, s.addr, "tcp", name, dns.TypeSRV, 0)); slices.Contains(got, 32000) || len(got) != bigApp {
		t.Errorf("after removing a task: %d ports, 32000 in them: %v", len(got), slices.Contains(got, 32000))
	}
}

// Small answers and negative ones are not cached; they are cheaper to build.
func TestAnswerCacheSkipsSmallAndNegative(t *testing.T) {
	s := startServer(t, testConfig(), Options{})
	for _, q := range []struct {
		name  string
		qtype uint16
	}{{"web.marathon.mesos.", dns.TypeA}, {"nope.marathon.mesos.", dns.TypeA}, {"big.marathon.mesos.", dns.TypeAAAA}} {
		ask(t, s.addr, "udp", q.name, q.qtype, 0)
	}
	if n := s.answers.len(); n != 0 {
		t.Errorf("%d questions cached, want none", n)
	}
}

func TestPatchReply(t *testing.T) {
	m := new(dns.Msg)
	m.SetQuestion("a.mesos.", dns.TypeA)
	m.Response, m.Authoritative, m.Rcode = true, true, dns.RcodeNameError
	m.RecursionDesired, m.CheckingDisabled = true, true
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	r := new(dns.Msg)
	r.SetQuestion("a.mesos.", dns.TypeA)
	r.Id, r.RecursionDesired, r.CheckingDisabled = 0xbeef, false, false
	patchReply(b, r)
	var got dns.Msg
	if err := got.Unpack(b); err != nil {
		t.Fatal(err)
	}
	if got.Id != 0xbeef || got.RecursionDesired || got.CheckingDisabled || !got.Authoritative || !got.Response ||
		got.Rcode != dns.RcodeNameError {
		t.Errorf("patched: %+v", got.MsgHdr)
	}
}
