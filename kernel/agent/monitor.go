package agent

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/containerizer"
	"strata/kernel/mesos/mesospb"
)

// containerView is a running executor's container, for /monitor and
// GET_CONTAINERS.
type containerView struct {
	fid, eid, name, source, cid string
	// image is set for an executor that runs tasks in podman containers:
	// their usage is added to the executor's; inImage for an executor
	// that is itself a podman container, whose usage is podman's alone.
	image, inImage bool
	pid            int
	stats          *mesospb.ResourceStatistics
	status         *mesospb.ContainerStatus
}

// containers samples every live container's usage (outside the lock).
func (a *Agent) containers(ctx context.Context) []containerView {
	a.mu.Lock()
	var views []containerView
	for _, f := range a.sortedFrameworks() {
		for _, e := range f.sortedExecutors() {
			if e.state == execTerminated || e.launching {
				continue
			}
			views = append(views, containerView{
				fid: f.id, eid: e.id, name: e.info.GetName(), source: e.info.GetSource(), cid: e.containerID,
				image: e.usesImages(), inImage: e.inImage(), pid: e.pid,
			})
		}
	}
	a.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var images map[string]*mesospb.ResourceStatistics
	for _, v := range views {
		if v.image {
			images = a.imageUsage(ctx)
			break
		}
	}
	out := views[:0]
	for _, v := range views {
		if v.inImage {
			if v.stats = images[v.cid]; v.stats == nil {
				continue // not running (any more)
			}
			v.status = &mesospb.ContainerStatus{ContainerId: containerID(v.cid)}
			if v.pid > 0 {
				v.status.ExecutorPid = proto.Uint32(uint32(v.pid))
			}
			out = append(out, v)
			continue
		}
		st, err := a.cz.Usage(ctx, v.cid)
		if err != nil {
			continue
		}
		if is := images[v.cid]; v.image && is != nil {
			// One container as Mesos sees it: the executor process and
			// the podman container it runs the task in. The limits stay
			// the executor container's (task plus executor resources).
			st = containerizer.AddUsage(st, is)
		}
		v.stats = st
		v.status, _ = a.cz.Status(ctx, v.cid)
		out = append(out, v)
	}
	return out
}

// monitorStatistics serves /monitor/statistics.
func (a *Agent) monitorStatistics(w http.ResponseWriter, r *http.Request) {
	out := []any{}
	for _, v := range a.containers(r.Context()) {
		out = append(out, map[string]any{
			"framework_id":  v.fid,
			"executor_id":   v.eid,
			"executor_name": v.name,
			"source":        v.source,
			"statistics":    protoJSON(v.stats),
		})
	}
	writeJSON(w, out)
}

// containersHandler serves /containers.
func (a *Agent) containersHandler(w http.ResponseWriter, r *http.Request) {
	out := []any{}
	for _, v := range a.containers(r.Context()) {
		m := map[string]any{
			"framework_id":  v.fid,
			"executor_id":   v.eid,
			"executor_name": v.name,
			"source":        v.source,
			"container_id":  v.cid,
			"statistics":    protoJSON(v.stats),
		}
		if v.status != nil {
			m["status"] = protoJSON(v.status)
		} else {
			m["status"] = json.RawMessage("{}")
		}
		out = append(out, m)
	}
	writeJSON(w, out)
}

func containerID(v string) *mesospb.ContainerID { return &mesospb.ContainerID{Value: proto.String(v)} }
