package agent

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/resources"
)

// counter is a monotonically increasing count.
type counter struct{ v atomic.Uint64 }

func (c *counter) Inc()          { c.v.Add(1) }
func (c *counter) Value() uint64 { return c.v.Load() }

// labeled is a family of counters keyed by one label.
type labeled struct {
	mu sync.Mutex
	m  map[string]*counter
}

func (l *labeled) WithLabelValues(v string) *counter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = make(map[string]*counter)
	}
	c := l.m[v]
	if c == nil {
		c = &counter{}
		l.m[v] = c
	}
	return c
}

func (l *labeled) value(v string) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c := l.m[v]; c != nil {
		return float64(c.Value())
	}
	return 0
}

// metrics are the agent's counters; gauges are computed from the model
// when read. /metrics/snapshot (Mesos names) and /metrics (Prometheus,
// strata_agent_*) show the same values.
type metrics struct {
	a                   *Agent
	registry            *prometheus.Registry
	registrations       counter
	executorsTerminated counter
	recoveryErrors      counter
	terminalTasks       labeled // by state label
	statusUpdates       labeled // valid / invalid
	frameworkMessages   labeled // valid / invalid
}

func newMetrics(a *Agent) *metrics {
	m := &metrics{a: a, registry: prometheus.NewRegistry()}
	m.registry.MustRegister(m)
	return m
}

// stateLabel is "finished" for TASK_FINISHED.
func stateLabel(s mesospb.TaskState) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "TASK_"))
}

// counterKeys are the snapshot keys that are counters (the rest are
// gauges).
var counterKeys = map[string]bool{
	"slave/executors_terminated":       true,
	"slave/registrations":              true,
	"slave/recovery_errors":            true,
	"slave/valid_status_updates":       true,
	"slave/invalid_status_updates":     true,
	"slave/valid_framework_messages":   true,
	"slave/invalid_framework_messages": true,
}

var terminalStates = []mesospb.TaskState{
	mesospb.TaskState_TASK_FINISHED, mesospb.TaskState_TASK_FAILED, mesospb.TaskState_TASK_KILLED,
	mesospb.TaskState_TASK_LOST, mesospb.TaskState_TASK_ERROR, mesospb.TaskState_TASK_DROPPED,
	mesospb.TaskState_TASK_GONE, mesospb.TaskState_TASK_GONE_BY_OPERATOR,
}

func init() {
	for _, s := range terminalStates {
		counterKeys["slave/tasks_"+stateLabel(s)] = true
	}
}

// snapshot returns every metric under its Mesos name.
func (m *metrics) snapshot() map[string]float64 {
	a := m.a
	out := map[string]float64{}
	a.mu.Lock()
	reg := 0.0
	if a.registered {
		reg = 1
	}
	out["slave/registered"] = reg
	out["slave/uptime_secs"] = time.Since(a.startTime).Seconds()
	out["slave/frameworks_active"] = float64(len(a.frameworks))
	execs := map[executorState]int{}
	live := map[mesospb.TaskState]int{}
	var used []*mesospb.Resource
	for _, f := range a.frameworks {
		for _, e := range f.executors {
			execs[e.state]++
			if e.state != execTerminated {
				used = append(used, e.resources()...)
			}
			for _, t := range e.allTasks() {
				if !t.terminal() {
					live[t.t.GetState()]++
				}
			}
		}
	}
	total := a.info.GetResources()
	a.mu.Unlock()

	out["slave/executors_registering"] = float64(execs[execRegistering])
	out["slave/executors_running"] = float64(execs[execRunning])
	out["slave/executors_terminating"] = float64(execs[execTerminating])
	out["slave/executors_terminated"] = float64(m.executorsTerminated.Value())
	for _, s := range []mesospb.TaskState{mesospb.TaskState_TASK_STAGING, mesospb.TaskState_TASK_STARTING,
		mesospb.TaskState_TASK_RUNNING, mesospb.TaskState_TASK_KILLING} {
		out["slave/tasks_"+stateLabel(s)] = float64(live[s])
	}
	for _, s := range terminalStates {
		out["slave/tasks_"+stateLabel(s)] = m.terminalTasks.value(stateLabel(s))
	}
	out["slave/registrations"] = float64(m.registrations.Value())
	out["slave/recovery_errors"] = float64(m.recoveryErrors.Value())
	out["slave/valid_status_updates"] = m.statusUpdates.value("valid")
	out["slave/invalid_status_updates"] = m.statusUpdates.value("invalid")
	out["slave/valid_framework_messages"] = m.frameworkMessages.value("valid")
	out["slave/invalid_framework_messages"] = m.frameworkMessages.value("invalid")
	for _, name := range []string{"cpus", "mem", "disk", "gpus"} {
		t := resources.Scalar(total, name)
		u := resources.Scalar(used, name)
		out["slave/"+name+"_total"] = t
		out["slave/"+name+"_used"] = u
		pct := 0.0
		if t > 0 {
			pct = u / t
		}
		out["slave/"+name+"_percent"] = pct
	}
	out["system/cpus_total"] = float64(runtime.NumCPU())
	memTotal, memFree := memInfo()
	out["system/mem_total_bytes"] = float64(memTotal)
	out["system/mem_free_bytes"] = float64(memFree)
	if l1, l5, l15, ok := loadAvg(); ok {
		out["system/load_1min"], out["system/load_5min"], out["system/load_15min"] = l1, l5, l15
	}
	return out
}

// promName maps "slave/tasks_running" to "strata_agent_tasks_running" and
// "system/mem_free_bytes" to "strata_agent_system_mem_free_bytes".
func promName(key string) string {
	key = strings.TrimPrefix(key, "slave/")
	key = strings.ReplaceAll(key, "/", "_")
	if counterKeys["slave/"+key] && !strings.HasSuffix(key, "_total") {
		key += "_total"
	}
	return "strata_agent_" + key
}

// Describe implements prometheus.Collector (unchecked: the set of metrics
// is computed at scrape time).
func (m *metrics) Describe(chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	snap := m.snapshot()
	keys := make([]string, 0, len(snap))
	for k := range snap {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		vt := prometheus.GaugeValue
		if counterKeys[k] {
			vt = prometheus.CounterValue
		}
		desc := prometheus.NewDesc(promName(k), "Mesos agent metric "+k+".", nil, nil)
		if metric, err := prometheus.NewConstMetric(desc, vt, snap[k]); err == nil {
			ch <- metric
		}
	}
}

func (a *Agent) metricsSnapshot(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, a.metrics.snapshot())
}

func (a *Agent) prometheusHandler() http.Handler {
	return promhttp.HandlerFor(a.metrics.registry, promhttp.HandlerOpts{})
}

// memInfo reads MemTotal and MemAvailable from /proc/meminfo, in bytes.
func memInfo() (total, free uint64) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		v, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "MemTotal:":
			total = v * 1024
		case "MemAvailable:":
			free = v * 1024
		}
	}
	return total, free
}

func loadAvg() (float64, float64, float64, bool) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, 0, 0, false
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return 0, 0, 0, false
	}
	var v [3]float64
	for i := range v {
		if v[i], err = strconv.ParseFloat(f[i], 64); err != nil {
			return 0, 0, 0, false
		}
	}
	return v[0], v[1], v[2], true
}

// writeJSON answers 200 with a JSON body and the exact Content-Type.
func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		textError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
