package feed

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"google.golang.org/protobuf/proto"

	"strata/dns/server"
	"strata/kernel/e2e/cluster"
	"strata/kernel/mesos/mesospb"
)

// BenchmarkProgrammingLatency measures how long a task takes to become resolvable after it is
// RUNNING, and to stop resolving after it is KILLED, through the whole path: a master with
// 20 simulated agents, a framework on kernel/scheduler, a feed on the master's operator
// stream and the DNS server answering UDP queries on loopback. 5,000 tasks run in the
// background; each iteration launches, then kills, 20 batches of 10 tasks. The start of each
// interval is the task status' own timestamp (set by the agent when the task changed state);
// the end is the first DNS answer that shows the change, found by querying every pending name
// about every half millisecond. It reports p50, p99 and the maximum in milliseconds, and the
// share of tasks whose name resolved before the framework received TASK_RUNNING.
func BenchmarkProgrammingLatency(b *testing.B) {
	addr, _ := cluster.StartSimulated(b, 20)
	tf := startFeed(b, Config{Masters: []string{addr}})
	tf.waitReady(20 * time.Second)
	dnsAddr := startDNS(b, tf)

	fw := startFramework(b, addr, "bench")
	statuses := newStatusLog(fw)

	const background = 5000
	// In rounds of 100 (one cpu): the test framework puts its whole queue on one offer, and
	// no agent gets close to its 16 cpus.
	for i := 0; i < background; i += 100 {
		fw.mu.Lock()
		for j := i; j < i+99; j++ {
			fw.queue = append(fw.queue, benchTask(fmt.Sprintf("bg-%d", j)))
		}
		fw.mu.Unlock()
		fw.launch(benchTask(fmt.Sprintf("bg-%d", i+99)))
		waitFor(b, 30*time.Second, "background tasks to run", func() bool { return statuses.count(mesospb.TaskState_TASK_RUNNING) >= i+100 })
	}
	waitFor(b, 30*time.Second, "the background tasks in DNS", func() bool {
		return tf.set.Exists(fmt.Sprintf("bg-%d.bench.mesos.", background-1))
	})

	c := &dns.Client{Net: "udp", Timeout: time.Second}
	conn, err := c.Dial(dnsAddr)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	// await polls the names until each resolves (exists) or has gone (!exists) and returns
	// when it first saw that, per name.
	await := func(names []string, exists bool) map[string]time.Time {
		seen := map[string]time.Time{}
		deadline := time.Now().Add(30 * time.Second)
		for len(seen) < len(names) {
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d names never reached exists=%v", len(names)-len(seen), len(names), exists)
			}
			for _, n := range names {
				if _, ok := seen[n]; ok {
					continue
				}
				q := new(dns.Msg)
				q.SetQuestion(n, dns.TypeA)
				r, _, err := c.ExchangeWithConn(q, conn)
				if err != nil {
					continue
				}
				if (r.Rcode == dns.RcodeSuccess && len(r.Answer) > 0) == exists {
					seen[n] = time.Now()
				}
			}
			time.Sleep(500 * time.Microsecond)
		}
		return seen
	}

	var up, down []time.Duration
	var before, total int
	const batches, batch = 20, 10
	next := 0
	b.ResetTimer()
	for range b.N {
		for range batches {
			ids := make([]string, batch)
			names := make([]string, batch)
			for k := range ids {
				ids[k] = fmt.Sprintf("t-%d", next)
				names[k] = ids[k] + ".bench.mesos."
				next++
			}
			fw.mu.Lock()
			for _, id := range ids[1:] {
				fw.queue = append(fw.queue, benchTask(id))
			}
			fw.mu.Unlock()
			fw.launch(benchTask(ids[0]))
			resolved := await(names, true)
			for k, id := range ids {
				ts, recv := statuses.wait(b, id, mesospb.TaskState_TASK_RUNNING)
				up = append(up, resolved[names[k]].Sub(ts))
				if resolved[names[k]].Before(recv) {
					before++
				}
				total++
			}
			for _, id := range ids {
				fw.kill(id)
			}
			gone := await(names, false)
			for k, id := range ids {
				ts, _ := statuses.wait(b, id, mesospb.TaskState_TASK_KILLED)
				down = append(down, gone[names[k]].Sub(ts))
			}
		}
	}
	b.StopTimer()
	report := func(what string, d []time.Duration) {
		slices.Sort(d)
		ms := func(q float64) float64 { return float64(d[int(q*float64(len(d)-1))]) / 1e6 }
		b.ReportMetric(ms(0.5), what+"-p50-ms")
		b.ReportMetric(ms(0.99), what+"-p99-ms")
		b.ReportMetric(ms(1), what+"-max-ms")
	}
	report("running", up)
	report("killed", down)
	b.ReportMetric(float64(before)/float64(total), "before-framework")
	b.ReportMetric(float64(len(up)), "tasks")
}

// benchTask is a small command task named after its id, so that id.bench.mesos. is its name.
func benchTask(id string) *mesospb.TaskInfo {
	scalar := func(name string, v float64) *mesospb.Resource {
		return &mesospb.Resource{Name: proto.String(name), Type: mesospb.Value_SCALAR.Enum(), Scalar: &mesospb.Value_Scalar{Value: proto.Float64(v)}}
	}
	return &mesospb.TaskInfo{
		Name: proto.String(id), TaskId: &mesospb.TaskID{Value: proto.String(id)}, AgentId: &mesospb.AgentID{Value: proto.String("")},
		Resources: []*mesospb.Resource{scalar("cpus", 0.01), scalar("mem", 1)},
		Command:   &mesospb.CommandInfo{Value: proto.String("sleep 600")},
	}
}

// startDNS serves tf's record set over UDP on a free loopback port until the benchmark ends.
func startDNS(b *testing.B, tf *testFeed) string {
	cfg := server.DefaultConfig()
	cfg.Listener, cfg.Port, cfg.ExternalOn, cfg.Resolvers = "127.0.0.1", 0, false, nil
	s, err := server.New(cfg, tf.set, server.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	s.SetReady()
	pc, l, err := server.Listen("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Serve(ctx, pc, l) }()
	b.Cleanup(func() { cancel(); <-done })
	return pc.LocalAddr().(*net.UDPAddr).String()
}

// statusLog drains a test framework's updates and keeps, per task and state, the status'
// timestamp and when the framework received it.
type statusLog struct {
	mu   sync.Mutex
	cond *sync.Cond
	seen map[string]map[mesospb.TaskState][2]time.Time
	n    map[mesospb.TaskState]int
}

func newStatusLog(f *testFramework) *statusLog {
	l := &statusLog{seen: map[string]map[mesospb.TaskState][2]time.Time{}, n: map[mesospb.TaskState]int{}}
	l.cond = sync.NewCond(&l.mu)
	go func() {
		for st := range f.updates {
			recv := time.Now()
			ts := time.Unix(0, int64(st.GetTimestamp()*1e9))
			l.mu.Lock()
			id := st.GetTaskId().GetValue()
			if l.seen[id] == nil {
				l.seen[id] = map[mesospb.TaskState][2]time.Time{}
			}
			if _, dup := l.seen[id][st.GetState()]; !dup {
				l.seen[id][st.GetState()] = [2]time.Time{ts, recv}
				l.n[st.GetState()]++
			}
			l.cond.Broadcast()
			l.mu.Unlock()
		}
	}()
	return l
}

func (l *statusLog) count(s mesospb.TaskState) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n[s]
}

// wait returns the timestamp and receipt time of task id's update to state s.
func (l *statusLog) wait(b *testing.B, id string, s mesospb.TaskState) (ts, recv time.Time) {
	deadline := time.Now().Add(30 * time.Second)
	wake := time.AfterFunc(30*time.Second, func() { l.mu.Lock(); l.cond.Broadcast(); l.mu.Unlock() })
	defer wake.Stop()
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		if v, ok := l.seen[id][s]; ok {
			return v[0], v[1]
		}
		if time.Now().After(deadline) {
			b.Fatalf("task %s: no %s within 30s", id, s)
		}
		l.cond.Wait()
	}
}
