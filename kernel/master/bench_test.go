package master

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/agent/simagent"
	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/recordio"
	"strata/kernel/mesos/schedulerpb"
)

// The benchmarks of performance.md §2.3 (B2): a real master on loopback, simulated agents speaking
// the real agent protocol, and a scheduler on the real scheduler API in protobuf. They time; they
// assert nothing about speed.
//
//	go test -run '^$' -bench . -benchtime=1x ./kernel/master/
//	go test -run '^$' -bench OfferLoop -count 10 ./kernel/master/ | tee new.txt   # then benchstat

const (
	benchTaskCPUs = 0.1
	benchTaskMem  = 32
	// benchAgentsEnv, when set in the environment ("addr,agents,cpus,mem"), turns the test binary
	// into a host of simulated agents for BenchmarkMasterMemoryPer10kTasks (see TestMain).
	benchAgentsEnv = "STRATA_BENCH_SIMAGENTS"
)

// TestMain lets the memory benchmark run its simulated agents in a child process (this test binary
// started again with benchAgentsEnv set), so that the benchmark's heap holds only the master and
// the scheduler.
func TestMain(m *testing.M) {
	if spec := os.Getenv(benchAgentsEnv); spec != "" {
		os.Exit(serveBenchAgents(spec))
	}
	os.Exit(m.Run())
}

// benchEnvironment describes the machine, as every benchmark report must (performance.md §2.1).
func benchEnvironment() string {
	cpu := "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("cpu=%q GOMAXPROCS=%d NumCPU=%d go=%s", cpu, runtime.GOMAXPROCS(0), runtime.NumCPU(), runtime.Version())
}

// benchClient is the one HTTP client shared by the simulated agents (and the scheduler): keep-alive
// connections, enough idle ones that a thousand agents do not re-dial for every status update.
// maxConns bounds the connections to the master, event streams included; like real agents, each
// simulated one then has its stream and about one connection for calls, however many status
// updates it has to send at once.
func benchClient(maxConns int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        0,
		MaxIdleConnsPerHost: maxConns,
		MaxConnsPerHost:     maxConns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}}
}

// startBenchMaster runs a quiet master on a free loopback port.
func startBenchMaster(tb testing.TB) (string, func()) {
	tb.Helper()
	cfg := Config{
		IP: "127.0.0.1", WorkDir: tb.TempDir(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	m, err := New(cfg, nil)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- m.Serve(ctx, ready) }()
	select {
	case addr := <-ready:
		return addr, func() {
			cancel()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				tb.Error("master did not stop in 30s")
			}
		}
	case err := <-done:
		cancel()
		tb.Fatalf("master did not start: %v", err)
	}
	return "", nil
}

func benchAgentResources(cpus, mem float64) []*mesospb.Resource {
	return []*mesospb.Resource{scalar("cpus", cpus), scalar("mem", mem), scalar("disk", 100), portsRes(31000, 31099)}
}

// startBenchAgents registers n simulated agents, a few dozen at a time.
func startBenchAgents(ctx context.Context, addr string, n int, cpus, mem float64, client *http.Client) ([]*simagent.Agent, error) {
	agents := make([]*simagent.Agent, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			port := 10000 + i
			a, err := simagent.Start(ctx, simagent.Config{
				Master: addr, Hostname: fmt.Sprintf("sim-%04d", i), Port: int32(port),
				Address: fmt.Sprintf("127.0.0.1:%d", port), Resources: benchAgentResources(cpus, mem), Client: client,
			})
			if err != nil {
				errs <- err
				return
			}
			agents[i] = a
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, fmt.Errorf("bench: start agents: %w", err)
	}
	return agents, nil
}

// benchScheduler is a framework on the real scheduler API (protobuf) that fills every offer with
// small tasks until it has launched want of them, and acknowledges every update.
type benchScheduler struct {
	addr     string
	client   *http.Client
	want     int
	streamID string
	fwID     *mesospb.FrameworkID

	calls chan []byte // encoded calls for the workers

	errMu   sync.Mutex
	callErr error // the first failure of a call or of the stream

	// Owned by the stream reader.
	launched  int
	offeredAt map[string]time.Time // task id → when its offer arrived, until it runs
	running   atomic.Int64
	latencies []time.Duration
	errors    int

	done chan struct{}
}

// runBenchScheduler subscribes and drives the offer loop until want tasks run or ctx ends; it
// returns once the stream is closed.
func runBenchScheduler(ctx context.Context, addr string, client *http.Client, want int) (*benchScheduler, error) {
	s := &benchScheduler{
		addr: addr, client: client, want: want,
		calls: make(chan []byte, 4096), offeredAt: make(map[string]time.Time, want), done: make(chan struct{}),
	}
	info := &mesospb.FrameworkInfo{User: proto.String("bench"), Name: proto.String("bench"), Checkpoint: proto.Bool(true)}
	body, err := proto.Marshal(&schedulerpb.Call{
		Type:      schedulerpb.Call_SUBSCRIBE.Enum(),
		Subscribe: &schedulerpb.Call_Subscribe{FrameworkInfo: info},
	})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/api/v1/scheduler", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", codec.ContentTypeProtobuf)
	req.Header.Set("Accept", codec.ContentTypeProtobuf)
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("bench: subscribe: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return nil, fmt.Errorf("bench: subscribe: %s: %s", resp.Status, b)
	}
	s.streamID = resp.Header.Get("Mesos-Stream-Id")
	var workers sync.WaitGroup
	for range 16 {
		workers.Add(1)
		go func() { defer workers.Done(); s.sendCalls() }()
	}
	go func() {
		defer workers.Wait()
		defer close(s.calls)
		defer resp.Body.Close()
		rd := recordio.NewReader(resp.Body)
		for {
			rec, err := rd.ReadRecord()
			if err != nil {
				return
			}
			ev := &schedulerpb.Event{}
			if err := proto.Unmarshal(rec, ev); err != nil {
				s.fail(err)
				return
			}
			s.handle(ev)
		}
	}()
	return s, nil
}

func (s *benchScheduler) handle(ev *schedulerpb.Event) {
	now := time.Now()
	switch ev.GetType() {
	case schedulerpb.Event_SUBSCRIBED:
		s.fwID = ev.GetSubscribed().GetFrameworkId()
	case schedulerpb.Event_OFFERS:
		for _, o := range ev.GetOffers().GetOffers() {
			s.offer(o, now)
		}
	case schedulerpb.Event_UPDATE:
		st := ev.GetUpdate().GetStatus()
		id := st.GetTaskId().GetValue()
		switch st.GetState() {
		case mesospb.TaskState_TASK_RUNNING:
			if at, ok := s.offeredAt[id]; ok {
				delete(s.offeredAt, id)
				s.latencies = append(s.latencies, now.Sub(at))
				if s.running.Add(1) == int64(s.want) {
					s.offeredAt = nil // all ran: let a heap measurement see only the master
					close(s.done)
				}
			}
		case mesospb.TaskState_TASK_STAGING, mesospb.TaskState_TASK_STARTING:
		default:
			s.errors++
		}
		if len(st.GetUuid()) > 0 {
			s.send(&schedulerpb.Call{
				Type:        schedulerpb.Call_ACKNOWLEDGE.Enum(),
				Acknowledge: &schedulerpb.Call_Acknowledge{AgentId: st.AgentId, TaskId: st.TaskId, Uuid: st.Uuid},
			})
		}
	}
}

// offer launches as many tasks as fit, or declines the offer for an hour once enough were launched.
func (s *benchScheduler) offer(o *mesospb.Offer, now time.Time) {
	var cpus, mem float64
	for _, r := range o.GetResources() {
		switch r.GetName() {
		case "cpus":
			cpus += r.GetScalar().GetValue()
		case "mem":
			mem += r.GetScalar().GetValue()
		}
	}
	fit := min(int(cpus/benchTaskCPUs+1e-6), int(mem/benchTaskMem+1e-6), s.want-s.launched)
	if fit <= 0 {
		s.send(&schedulerpb.Call{
			Type:    schedulerpb.Call_DECLINE.Enum(),
			Decline: &schedulerpb.Call_Decline{OfferIds: []*mesospb.OfferID{o.GetId()}, Filters: &mesospb.Filters{RefuseSeconds: proto.Float64(3600)}},
		})
		return
	}
	tasks := make([]*mesospb.TaskInfo, 0, fit)
	for range fit {
		id := "t" + strconv.Itoa(s.launched)
		s.launched++
		s.offeredAt[id] = now
		tasks = append(tasks, &mesospb.TaskInfo{
			Name:      proto.String(id),
			TaskId:    &mesospb.TaskID{Value: proto.String(id)},
			AgentId:   o.GetAgentId(),
			Resources: []*mesospb.Resource{scalar("cpus", benchTaskCPUs), scalar("mem", benchTaskMem)},
			Command:   &mesospb.CommandInfo{Value: proto.String("sleep 3600")},
		})
	}
	s.send(&schedulerpb.Call{
		Type: schedulerpb.Call_ACCEPT.Enum(),
		Accept: &schedulerpb.Call_Accept{
			OfferIds: []*mesospb.OfferID{o.GetId()},
			Operations: []*mesospb.Offer_Operation{{
				Type:   mesospb.Offer_Operation_LAUNCH.Enum(),
				Launch: &mesospb.Offer_Operation_Launch{TaskInfos: tasks},
			}},
			Filters: &mesospb.Filters{RefuseSeconds: proto.Float64(0)},
		},
	})
}

func (s *benchScheduler) send(c *schedulerpb.Call) {
	c.FrameworkId = s.fwID
	b, err := proto.Marshal(c)
	if err != nil {
		s.fail(err)
		return
	}
	s.calls <- b
}

func (s *benchScheduler) sendCalls() {
	for body := range s.calls {
		req, err := http.NewRequest(http.MethodPost, "http://"+s.addr+"/api/v1/scheduler", bytes.NewReader(body))
		if err != nil {
			s.fail(err)
			continue
		}
		req.Header.Set("Content-Type", codec.ContentTypeProtobuf)
		req.Header.Set("Mesos-Stream-Id", s.streamID)
		resp, err := s.client.Do(req)
		if err != nil {
			s.fail(err)
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			s.fail(fmt.Errorf("bench: call answered %s: %s", resp.Status, b))
		}
	}
}

func (s *benchScheduler) fail(err error) {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	if s.callErr == nil {
		s.callErr = err
	}
}

func (s *benchScheduler) err() error {
	s.errMu.Lock()
	err := s.callErr
	s.errMu.Unlock()
	if err != nil {
		return err
	}
	if s.errors > 0 {
		return fmt.Errorf("bench: %d tasks failed to launch", s.errors)
	}
	return nil
}

// wait blocks until want tasks run or the timeout passes.
func (s *benchScheduler) wait(timeout time.Duration) error {
	select {
	case <-s.done:
		return s.err()
	case <-time.After(timeout):
		if err := s.err(); err != nil {
			return err
		}
		return fmt.Errorf("bench: only %d of %d tasks running after %s", s.running.Load(), s.want, timeout)
	}
}

// processCPU is the user and system CPU time this process has used. The offer-loop benchmark
// reports it per task because it holds still when other programs share the machine, which the
// wall-clock rate does not.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

// BenchmarkOfferLoop measures the end-to-end offer loop: 1000 simulated agents (10 task slots
// each), one protobuf scheduler that fills every offer with cpus:0.1,mem:32 tasks, 10,000 tasks
// per iteration from SUBSCRIBE until the last TASK_RUNNING. Each iteration starts a fresh master
// and agents (not timed). baseline-req/s is a trivial loopback HTTP handler driven the same way
// in the same process, for the ratio rule of performance.md §2.1.
func BenchmarkOfferLoop(b *testing.B) {
	const agents, slots = 1000, 10
	const tasks = agents * slots
	b.Logf("%s agents=%d tasks/iteration=%d", benchEnvironment(), agents, tasks)
	client := benchClient(2*agents + 64)
	defer client.CloseIdleConnections()
	baseline := measureHTTPBaseline(b, client, 20000, 16)

	var elapsed, cpu time.Duration
	var latencies []time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		addr, stopMaster := startBenchMaster(b)
		ctx, cancel := context.WithCancel(context.Background())
		if _, err := startBenchAgents(ctx, addr, agents, slots*benchTaskCPUs, slots*benchTaskMem, client); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		b.StartTimer()

		start, cpu0 := time.Now(), processCPU()
		s, err := runBenchScheduler(ctx, addr, client, tasks)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.wait(2 * time.Minute); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
		cpu += processCPU() - cpu0
		b.StopTimer()
		latencies = append(latencies, s.latencies...)
		cancel()
		stopMaster()
		client.CloseIdleConnections()
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(latencies)
	rate := float64(tasks*b.N) / elapsed.Seconds()
	b.ReportMetric(rate, "running/s")
	b.ReportMetric(float64(percentile(latencies, 0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(percentile(latencies, 0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(cpu.Microseconds())/float64(tasks*b.N), "cpu-µs/task")
	b.ReportMetric(baseline, "baseline-req/s")
	b.ReportMetric(rate/baseline, "running/baseline-req")
}

// measureHTTPBaseline drives n requests to a trivial loopback handler from conc goroutines through
// client, and returns requests per second.
func measureHTTPBaseline(tb testing.TB, client *http.Client, n, conc int) float64 {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
	})}
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/"
	body := bytes.Repeat([]byte("x"), 64)
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				resp, err := client.Post(url, codec.ContentTypeProtobuf, bytes.NewReader(body))
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	rate := float64(n) / time.Since(start).Seconds()
	if f := failed.Load(); f > 0 {
		tb.Fatalf("baseline: %d of %d requests failed", f, n)
	}
	return rate
}

// BenchmarkHTTPBaseline is the trivial loopback handler on its own: each op is 10,000 POST round
// trips from 16 concurrent clients.
func BenchmarkHTTPBaseline(b *testing.B) {
	client := benchClient(64)
	defer client.CloseIdleConnections()
	b.ResetTimer()
	rate := measureHTTPBaseline(b, client, 10000*b.N, 16)
	b.ReportMetric(rate, "req/s")
}

// BenchmarkMasterMemoryPer10kTasks runs 10,000 tasks through a master and reports how much its
// heap grew: runtime.ReadMemStats after GC, with every task running and acknowledged, minus the
// same reading before the first task. The 100 simulated agents run in a child process (this test
// binary again, see TestMain), so the heap measured is the master's and the scheduler's, and the
// scheduler keeps nothing per running task.
func BenchmarkMasterMemoryPer10kTasks(b *testing.B) {
	const agents, slots = 100, 100
	const tasks = agents * slots
	b.Logf("%s agents=%d tasks=%d (agents in a child process)", benchEnvironment(), agents, tasks)
	var total float64
	for range b.N {
		b.StopTimer()
		addr, stopMaster := startBenchMaster(b)
		child, err := startAgentProcess(addr, agents, slots*benchTaskCPUs, slots*benchTaskMem)
		if err != nil {
			b.Fatal(err)
		}
		client := benchClient(64)
		ctx, cancel := context.WithCancel(context.Background())
		// Baseline: agents registered, no framework yet.
		before := heapAfterGC()
		b.StartTimer()
		s, err := runBenchScheduler(ctx, addr, client, tasks)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.wait(2 * time.Minute); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		// Let the last acknowledgements land, then measure.
		time.Sleep(200 * time.Millisecond)
		after := heapAfterGC()
		total += float64(after) - float64(before)
		cancel()
		if err := child.stop(); err != nil {
			b.Error(err)
		}
		stopMaster()
		client.CloseIdleConnections()
	}
	b.ReportMetric(total/float64(b.N), "bytes/10k-tasks")
}

func heapAfterGC() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// agentProcess is a child process hosting simulated agents.
type agentProcess struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

func startAgentProcess(addr string, n int, cpus, mem float64) (*agentProcess, error) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s,%d,%g,%g", benchAgentsEnv, addr, n, cpus, mem))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: start agent process: %w", err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("bench: agent process: %q %v", line, err)
	}
	return &agentProcess{cmd: cmd, stdin: stdin}, nil
}

// stop closes the child's stdin, which tells it to exit.
func (p *agentProcess) stop() error {
	p.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		return errors.New("bench: agent process did not exit")
	}
}

// serveBenchAgents is the child side: start the agents, say "ready", and run until stdin closes.
func serveBenchAgents(spec string) int {
	parts := strings.Split(spec, ",")
	if len(parts) != 4 {
		fmt.Fprintf(os.Stderr, "bench agents: bad %s=%q\n", benchAgentsEnv, spec)
		return 2
	}
	n, err1 := strconv.Atoi(parts[1])
	cpus, err2 := strconv.ParseFloat(parts[2], 64)
	mem, err3 := strconv.ParseFloat(parts[3], 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		fmt.Fprintf(os.Stderr, "bench agents: %v\n", err)
		return 2
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := startBenchAgents(ctx, parts[0], n, cpus, mem, benchClient(2*n+64)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	return 0
}
