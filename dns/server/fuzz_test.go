package server

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// errorRecorder is a slog.Handler that keeps Error-level messages: the handler logs a
// recovered panic at that level.
type errorRecorder struct {
	mu   *sync.Mutex
	msgs *[]string
}

func (h errorRecorder) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelError }
func (h errorRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool { msg += " " + a.String(); return true })
	*h.msgs = append(*h.msgs, msg)
	return nil
}
func (h errorRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h errorRecorder) WithGroup(string) slog.Handler      { return h }

// fuzzServer is a ready server that is never started: the fuzzer calls its handler. Names
// outside the domain go to 127.0.0.1:1, where nothing listens, except "cached.example.com."
// A, which is in the cache.
func fuzzServer(t testing.TB) (*Server, *[]string) {
	cfg := testConfig()
	cfg.Resolvers = []string{"127.0.0.1:1"}
	cfg.ZoneResolvers = map[string][]string{"corp": {"127.0.0.1:1"}}
	var msgs []string
	s, err := New(cfg, newSet(t, cfg), Options{
		Logger:         slog.New(errorRecorder{mu: &sync.Mutex{}, msgs: &msgs}),
		ForwardTimeout: 50 * time.Millisecond,
		NameserverIPs:  []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.SetReady()
	cached := new(dns.Msg)
	cached.SetQuestion("cached.example.com.", dns.TypeA)
	cached.Response = true
	rr, _ := dns.NewRR("cached.example.com. 3600 IN A 192.0.2.7")
	cached.Answer = []dns.RR{rr}
	s.fwd.cache.put(cacheKey{name: "cached.example.com.", qtype: dns.TypeA, qclass: dns.ClassINET}, cached, time.Now())
	return s, &msgs
}

func fuzzSeeds() [][]byte {
	var out [][]byte
	add := func(name string, qtype uint16, mod func(*dns.Msg)) {
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		if mod != nil {
			mod(m)
		}
		b, err := m.Pack()
		if err != nil {
			panic(err)
		}
		out = append(out, b)
	}
	edns := func(m *dns.Msg) { m.SetEdns0(4096, true) }
	add("web.marathon.mesos.", dns.TypeA, nil)
	add("WEB.Marathon.MESOS.", dns.TypeAAAA, edns)
	add("_big._tcp.marathon.mesos.", dns.TypeSRV, nil)
	add("_big._tcp.marathon.mesos.", dns.TypeSRV, edns)
	add("nope.mesos.", dns.TypeA, nil)
	add("_tcp.marathon.mesos.", dns.TypeTXT, nil)
	add("mesos.", dns.TypeSOA, nil)
	add("mesos.", dns.TypeNS, edns)
	add("mesos.", dns.TypeANY, nil)
	add("mesos.", dns.TypeAXFR, nil)
	add("web.*.marathon.mesos.", dns.TypeA, nil)
	add("cached.example.com.", dns.TypeA, nil)
	add("x.corp.", dns.TypeMX, nil)
	add("version.bind.", dns.TypeTXT, func(m *dns.Msg) { m.Question[0].Qclass = dns.ClassCHAOS })
	add("mesos.", dns.TypeSOA, func(m *dns.Msg) { m.Opcode = dns.OpcodeNotify })
	add("mesos.", dns.TypeA, func(m *dns.Msg) { m.Question = append(m.Question, m.Question[0]) })
	add("mesos.", dns.TypeA, func(m *dns.Msg) { m.SetEdns0(512, false); m.IsEdns0().SetVersion(3) })
	add("mesos.", dns.TypeA, func(m *dns.Msg) { m.Response = true })
	out = append(out, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}) // no question
	return out
}

// FuzzServeDNS feeds arbitrary bytes that parse as a DNS message to the handler: it must not
// panic (a recovered panic is logged at Error level and fails the test), must write exactly
// one reply, and the reply must pack, carry the query's ID and fit the client's limit.
func FuzzServeDNS(f *testing.F) {
	for _, b := range fuzzSeeds() {
		f.Add(b, false)
	}
	s, msgs := fuzzServer(f)
	f.Fuzz(func(t *testing.T, data []byte, tcp bool) {
		r := new(dns.Msg)
		if err := r.Unpack(data); err != nil {
			return // miekg/dns drops what it cannot parse
		}
		w := &fakeWriter{remote: fakeUDP}
		if tcp {
			w.remote = fakeTCP
		}
		s.ServeDNS(w, r)
		if len(*msgs) > 0 {
			t.Fatalf("handler logged errors: %v", *msgs)
		}
		if w.written != 1 || w.reply() == nil {
			t.Fatalf("%d replies written (msg %v)", w.written, w.reply())
		}
		if w.reply().Id != r.Id || !w.reply().Response {
			t.Fatalf("reply id %d QR %v, want id %d QR", w.reply().Id, w.reply().Response, r.Id)
		}
		limit := dns.MaxMsgSize
		if !tcp {
			limit = dns.MinMsgSize
			if opt := r.IsEdns0(); opt != nil && int(opt.UDPSize()) > limit {
				limit = min(int(opt.UDPSize()), serverUDPSize)
			}
		}
		if len(w.packed) > limit {
			t.Fatalf("reply is %d bytes, limit %d", len(w.packed), limit)
		}
		var back dns.Msg
		if err := back.Unpack(w.packed); err != nil {
			t.Fatalf("reply does not parse: %v", err)
		}
	})
}

// TestHandlerDirect covers the handler through the fake writer: what the fuzzer relies on.
func TestHandlerDirect(t *testing.T) {
	s, msgs := fuzzServer(t)
	for _, b := range fuzzSeeds() {
		r := new(dns.Msg)
		if err := r.Unpack(b); err != nil {
			t.Fatal(err)
		}
		w := &fakeWriter{remote: fakeUDP}
		s.ServeDNS(w, r)
		if w.written != 1 {
			t.Errorf("%v: %d replies", r.Question, w.written)
		}
	}
	if len(*msgs) > 0 {
		t.Errorf("errors logged: %v", *msgs)
	}
	// A cached answer is served without the network.
	r := new(dns.Msg)
	r.SetQuestion("Cached.Example.com.", dns.TypeA)
	w := &fakeWriter{remote: fakeUDP}
	s.ServeDNS(w, r)
	if len(w.reply().Answer) != 1 || w.reply().Answer[0].Header().Name != "Cached.Example.com." {
		t.Errorf("cached: %v", w.reply())
	}
	// A panic inside the handler still produces a reply: SERVFAIL.
	s2, logged := fuzzServer(t)
	s2.set = nil // Ready, then a nil set: lookups panic
	w = &fakeWriter{remote: fakeUDP}
	r.SetQuestion("web.marathon.mesos.", dns.TypeA)
	s2.ServeDNS(w, r)
	if w.written != 1 || w.reply().Rcode != dns.RcodeServerFailure {
		t.Errorf("after a panic: %d replies, %v", w.written, w.reply())
	}
	if len(*logged) != 1 {
		t.Errorf("the panic was logged %d times", len(*logged))
	}
}
