package master

import (
	"encoding/json"
	"os"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"strata/kernel/allocator"
)

// The flat /metrics/snapshot object (Mesos' metric names), also behind GET_METRICS and the
// Prometheus gauges.

// metricsSnapshot is the flat /metrics/snapshot object.
func (m *Master) metricsSnapshot() map[string]float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]float64{
		"master/uptime_secs":                       time.Since(m.startTime).Seconds(),
		"master/outstanding_offers":                float64(len(m.offers)),
		"master/slaves_unreachable":                float64(len(m.unreachableAgents)),
		"master/frameworks_connected":              0,
		"master/frameworks_disconnected":           0,
		"master/frameworks_active":                 0,
		"master/frameworks_inactive":               0,
		"master/slaves_connected":                  0,
		"master/slaves_disconnected":               0,
		"master/slaves_active":                     0,
		"master/slaves_inactive":                   0,
		"registrar/log/ensemble_size":              1,
		"master/recovery_slave_removals":           0,
		"master/slave_reregistrations":             0,
		"master/valid_status_updates":              0,
		"master/messages_status_update":            0,
		"master/event_queue_dispatches":            0,
		"master/tasks_staging":                     0,
		"master/tasks_starting":                    0,
		"master/tasks_running":                     0,
		"master/tasks_killing":                     0,
		"master/tasks_finished":                    0,
		"master/tasks_failed":                      0,
		"master/tasks_killed":                      0,
		"master/tasks_lost":                        0,
		"master/tasks_error":                       0,
		"master/tasks_unreachable":                 float64(0),
		"master/operator_event_stream_subscribers": float64(len(m.operatorStreams)),
	}
	if m.isLeading() {
		out["master/elected"] = 1
	} else {
		out["master/elected"] = 0
	}
	for _, fw := range m.frameworks {
		if fw.connected {
			out["master/frameworks_connected"]++
		} else {
			out["master/frameworks_disconnected"]++
		}
		if fw.active {
			out["master/frameworks_active"]++
		} else {
			out["master/frameworks_inactive"]++
		}
		count := func(ts ...*task) {
			for _, t := range ts {
				k := "master/" + strings.ToLower(strings.TrimPrefix(t.t.GetState().String(), "TASK_"))
				k = strings.Replace(k, "master/", "master/tasks_", 1)
				out[k]++
			}
		}
		for _, t := range fw.tasks {
			count(t)
		}
		count(fw.completedTasks...)
		count(fw.unreachableTasks...)
	}
	var total, used allocator.Resources
	for _, a := range m.agents {
		if a.connected {
			out["master/slaves_connected"]++
		} else {
			out["master/slaves_disconnected"]++
		}
		if a.active {
			out["master/slaves_active"]++
		} else {
			out["master/slaves_inactive"]++
		}
		total.Add(a.total)
		used.Add(a.used())
	}
	for _, name := range []string{"cpus", "mem", "disk", "gpus"} {
		tv, uv := total.Scalar(name), used.Scalar(name)
		out["master/"+name+"_total"] = tv
		out["master/"+name+"_used"] = uv
		if tv > 0 {
			out["master/"+name+"_percent"] = uv / tv
		} else {
			out["master/"+name+"_percent"] = 0
		}
	}
	out["system/cpus_total"] = float64(numCPU())
	if memTotal, memFree, ok := memInfo(); ok {
		out["system/mem_total_bytes"] = memTotal
		out["system/mem_free_bytes"] = memFree
	}
	return out
}

func (m *Master) handleMetricsSnapshot(c *gin.Context) {
	writeJSON(c, m.metricsSnapshot())
}

// memInfo reads total and available memory from /proc/meminfo.
func memInfo() (total, free float64, ok bool) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		var v float64
		if err := json.Unmarshal([]byte(f[1]), &v); err != nil {
			continue
		}
		switch f[0] {
		case "MemTotal:":
			total = v * 1024
		case "MemAvailable:":
			free = v * 1024
		}
	}
	return total, free, total > 0
}
