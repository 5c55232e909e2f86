package master

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/agent/simagent"
	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/recordio"
	"strata/kernel/mesos/schedulerpb"
)

// startMaster runs a master on a free port with its registry in a temp dir.
func startMaster(t *testing.T, mutate func(*Config)) (*Master, string) {
	t.Helper()
	cfg := Config{IP: "127.0.0.1", Port: 0, WorkDir: t.TempDir(), AllocationInterval: 50 * time.Millisecond}
	if mutate != nil {
		mutate(&cfg)
	}
	m, addr, _ := runOpMaster(t, cfg, nil)
	return m, addr
}

// readEvents decodes a RecordIO event stream into out until the stream ends, then closes body and
// out.
func readEvents[E proto.Message](t *testing.T, body io.ReadCloser, cd codec.Codec, newEvent func() E, out chan<- E) {
	defer close(out)
	defer body.Close()
	rd := recordio.NewReader(body)
	for {
		rec, err := rd.ReadRecord()
		if err != nil {
			return
		}
		ev := newEvent()
		if err := cd.Unmarshal(rec, ev); err != nil {
			t.Errorf("decode event: %v", err)
			return
		}
		out <- ev
	}
}

func scalar(name string, v float64) *mesospb.Resource {
	return &mesospb.Resource{Name: proto.String(name), Type: mesospb.Value_SCALAR.Enum(), Scalar: &mesospb.Value_Scalar{Value: proto.Float64(v)}}
}

func portsRes(b, e uint64) *mesospb.Resource {
	return &mesospb.Resource{Name: proto.String("ports"), Type: mesospb.Value_RANGES.Enum(),
		Ranges: &mesospb.Value_Ranges{Range: []*mesospb.Value_Range{{Begin: proto.Uint64(b), End: proto.Uint64(e)}}}}
}

// startSimAgent registers a simulated agent with cpus:4 mem:1024 disk:1000 ports:[31000-31010].
func startSimAgent(t *testing.T, master string, host string) *simagent.Agent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	a, err := simagent.Start(ctx, simagent.Config{
		Master: master, Hostname: host, Port: 5051, Address: "127.0.0.1:5051",
		Resources: []*mesospb.Resource{scalar("cpus", 4), scalar("mem", 1024), scalar("disk", 1000), portsRes(31000, 31010)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// schedClient is a raw scheduler API client for tests: it checks the protocol by hand.
type schedClient struct {
	t        *testing.T
	addr     string
	cd       codec.Codec
	streamID string
	fwID     string
	events   chan *schedulerpb.Event
	cancel   context.CancelFunc
}

func subscribe(t *testing.T, addr string, cd codec.Codec, info *mesospb.FrameworkInfo) *schedClient {
	t.Helper()
	call := &schedulerpb.Call{
		Type:      schedulerpb.Call_SUBSCRIBE.Enum(),
		Subscribe: &schedulerpb.Call_Subscribe{FrameworkInfo: info},
	}
	if info.Id != nil {
		call.FrameworkId = info.Id
	}
	body, err := cd.Marshal(call)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/api/v1/scheduler", bytes.NewReader(body))
	req.Header.Set("Content-Type", cd.ContentType())
	req.Header.Set("Accept", cd.ContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		cancel()
		t.Fatalf("SUBSCRIBE: %s: %s", resp.Status, b)
	}
	if got := resp.Header.Get("Content-Type"); got != cd.ContentType() {
		t.Fatalf("SUBSCRIBE Content-Type = %q, want %q", got, cd.ContentType())
	}
	if resp.ContentLength != -1 {
		t.Fatalf("SUBSCRIBE answered with Content-Length %d; a stream must be chunked", resp.ContentLength)
	}
	sc := &schedClient{t: t, addr: addr, cd: cd, streamID: resp.Header.Get("Mesos-Stream-Id"), events: make(chan *schedulerpb.Event, 1024), cancel: cancel}
	if sc.streamID == "" {
		t.Fatal("no Mesos-Stream-Id header")
	}
	go readEvents(t, resp.Body, cd, func() *schedulerpb.Event { return &schedulerpb.Event{} }, sc.events)
	t.Cleanup(cancel)
	ev := sc.next(schedulerpb.Event_SUBSCRIBED)
	sc.fwID = ev.GetSubscribed().GetFrameworkId().GetValue()
	return sc
}

// next returns the next event of type typ, skipping heartbeats and other types.
func (s *schedClient) next(typ schedulerpb.Event_Type) *schedulerpb.Event {
	s.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				s.t.Fatalf("stream closed while waiting for %s", typ)
			}
			if ev.GetType() == typ {
				return ev
			}
		case <-timeout:
			s.t.Fatalf("no %s event in 10s", typ)
		}
	}
}

// call posts a non-subscribe call and returns the status code and body.
func (s *schedClient) call(c *schedulerpb.Call) (int, string) {
	s.t.Helper()
	if c.FrameworkId == nil {
		c.FrameworkId = &mesospb.FrameworkID{Value: proto.String(s.fwID)}
	}
	body, err := s.cd.Marshal(c)
	if err != nil {
		s.t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+s.addr+"/api/v1/scheduler", bytes.NewReader(body))
	req.Header.Set("Content-Type", s.cd.ContentType())
	req.Header.Set("Mesos-Stream-Id", s.streamID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (s *schedClient) mustCall(c *schedulerpb.Call) {
	s.t.Helper()
	code, body := s.call(c)
	if code != http.StatusAccepted {
		s.t.Fatalf("%s: %d %s", c.GetType(), code, body)
	}
	if body != "" {
		s.t.Fatalf("%s: 202 with a body %q", c.GetType(), body)
	}
}

func frameworkInfo(name string, caps ...mesospb.FrameworkInfo_Capability_Type) *mesospb.FrameworkInfo {
	fi := &mesospb.FrameworkInfo{User: proto.String("root"), Name: proto.String(name)}
	for _, c := range caps {
		fi.Capabilities = append(fi.Capabilities, &mesospb.FrameworkInfo_Capability{Type: c.Enum()})
	}
	return fi
}

func get(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func post(t *testing.T, url, contentType, accept, body string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}
