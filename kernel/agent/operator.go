package agent

import (
	"errors"
	"fmt"
	"net/http"
	"sort"

	"google.golang.org/protobuf/proto"

	"strata/kernel/agent/files"
	"strata/kernel/mesos/agentpb"
	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/version"
)

// operatorAPI serves POST /api/v1 (the agent operator API): the read-only
// calls. Others answer 501.
func (a *Agent) operatorAPI(w http.ResponseWriter, r *http.Request) {
	call := &agentpb.Call{}
	if !decodeCall(w, r, call) {
		return
	}
	c, ok := codec.Negotiate(r.Header.Values("Accept"))
	if !ok {
		textError(w, http.StatusNotAcceptable, "Expecting 'Accept' to allow application/json or application/x-protobuf")
		return
	}
	resp, code, msg := a.operatorCall(r, call)
	if resp == nil {
		textError(w, code, msg)
		return
	}
	b, err := c.Marshal(resp)
	if err != nil {
		textError(w, http.StatusInternalServerError, "Failed to encode response: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", c.ContentType())
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

func (a *Agent) operatorCall(r *http.Request, call *agentpb.Call) (*agentpb.Response, int, string) {
	t := call.GetType()
	resp := &agentpb.Response{Type: agentpb.Response_UNKNOWN.Enum()}
	setType := func(rt agentpb.Response_Type) { resp.Type = rt.Enum() }
	switch t {
	case agentpb.Call_GET_HEALTH:
		setType(agentpb.Response_GET_HEALTH)
		resp.GetHealth = &agentpb.Response_GetHealth{Healthy: proto.Bool(true)}
	case agentpb.Call_GET_FLAGS:
		setType(agentpb.Response_GET_FLAGS)
		resp.GetFlags = &agentpb.Response_GetFlags{Flags: a.flagList()}
	case agentpb.Call_GET_VERSION:
		setType(agentpb.Response_GET_VERSION)
		resp.GetVersion = &agentpb.Response_GetVersion{VersionInfo: versionInfo()}
	case agentpb.Call_GET_METRICS:
		setType(agentpb.Response_GET_METRICS)
		resp.GetMetrics = &agentpb.Response_GetMetrics{}
		snap := a.metrics.snapshot()
		keys := make([]string, 0, len(snap))
		for k := range snap {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			resp.GetMetrics.Metrics = append(resp.GetMetrics.Metrics, &mesospb.Metric{Name: proto.String(k), Value: proto.Float64(snap[k])})
		}
	case agentpb.Call_GET_STATE:
		setType(agentpb.Response_GET_STATE)
		a.mu.Lock()
		resp.GetState = &agentpb.Response_GetState{
			GetTasks:      a.getTasksLocked(),
			GetExecutors:  a.getExecutorsLocked(),
			GetFrameworks: a.getFrameworksLocked(),
		}
		a.mu.Unlock()
	case agentpb.Call_GET_TASKS:
		setType(agentpb.Response_GET_TASKS)
		a.mu.Lock()
		resp.GetTasks = a.getTasksLocked()
		a.mu.Unlock()
	case agentpb.Call_GET_EXECUTORS:
		setType(agentpb.Response_GET_EXECUTORS)
		a.mu.Lock()
		resp.GetExecutors = a.getExecutorsLocked()
		a.mu.Unlock()
	case agentpb.Call_GET_FRAMEWORKS:
		setType(agentpb.Response_GET_FRAMEWORKS)
		a.mu.Lock()
		resp.GetFrameworks = a.getFrameworksLocked()
		a.mu.Unlock()
	case agentpb.Call_GET_AGENT:
		setType(agentpb.Response_GET_AGENT)
		a.mu.Lock()
		resp.GetAgent = &agentpb.Response_GetAgent{AgentInfo: proto.Clone(a.info).(*mesospb.AgentInfo)}
		a.mu.Unlock()
	case agentpb.Call_GET_CONTAINERS:
		setType(agentpb.Response_GET_CONTAINERS)
		resp.GetContainers = &agentpb.Response_GetContainers{}
		for _, v := range a.containers(r.Context()) {
			resp.GetContainers.Containers = append(resp.GetContainers.Containers, &agentpb.Response_GetContainers_Container{
				FrameworkId:        &mesospb.FrameworkID{Value: proto.String(v.fid)},
				ExecutorId:         &mesospb.ExecutorID{Value: proto.String(v.eid)},
				ExecutorName:       proto.String(v.name),
				ContainerId:        containerID(v.cid),
				ContainerStatus:    v.status,
				ResourceStatistics: v.stats,
			})
		}
	case agentpb.Call_LIST_FILES:
		p := call.GetListFiles().GetPath()
		list, err := a.files.List(p)
		if err != nil {
			return nil, filesErrorCode(err), err.Error()
		}
		setType(agentpb.Response_LIST_FILES)
		resp.ListFiles = &agentpb.Response_ListFiles{}
		for _, fi := range list {
			resp.ListFiles.FileInfos = append(resp.ListFiles.FileInfos, &mesospb.FileInfo{
				Path: proto.String(fi.Path), Nlink: proto.Int32(int32(fi.Nlink)), Size: proto.Uint64(uint64(fi.Size)),
				Mtime: &mesospb.TimeInfo{Nanoseconds: proto.Int64(int64(fi.Mtime) * 1e9)},
				Uid:   proto.String(fi.UID), Gid: proto.String(fi.GID),
			})
		}
	case agentpb.Call_READ_FILE:
		rf := call.GetReadFile()
		length := int64(-1)
		if rf.Length != nil {
			length = int64(rf.GetLength())
		}
		data, _, size, err := a.files.ReadAt(rf.GetPath(), int64(rf.GetOffset()), length)
		if err != nil {
			return nil, filesErrorCode(err), err.Error()
		}
		setType(agentpb.Response_READ_FILE)
		resp.ReadFile = &agentpb.Response_ReadFile{Size: proto.Uint64(uint64(size)), Data: data}
		if resp.ReadFile.Data == nil {
			resp.ReadFile.Data = []byte{}
		}
	case agentpb.Call_UNKNOWN:
		return nil, http.StatusBadRequest, "Failed to validate agent::Call: Expecting 'type' to be present"
	default:
		return nil, http.StatusNotImplemented, fmt.Sprintf("%v is not supported by the Strata agent", t)
	}
	return resp, http.StatusOK, ""
}

func filesErrorCode(err error) int {
	switch {
	case errors.Is(err, files.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, files.ErrForbidden):
		return http.StatusForbidden
	}
	return http.StatusBadRequest
}

func versionInfo() *mesospb.VersionInfo {
	vi := version.Get()
	return &mesospb.VersionInfo{
		Version:   proto.String(vi.Version),
		BuildDate: proto.String(vi.BuildDate),
		BuildUser: proto.String(vi.BuildUser),
		GitSha:    proto.String(vi.GitSHA),
		GitBranch: proto.String(vi.GitBranch),
	}
}

func (a *Agent) flagList() []*mesospb.Flag {
	flags := a.flags()
	names := make([]string, 0, len(flags))
	for n := range flags {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]*mesospb.Flag, 0, len(names))
	for _, n := range names {
		out = append(out, &mesospb.Flag{Name: proto.String(n), Value: proto.String(flags[n])})
	}
	return out
}

func (a *Agent) getTasksLocked() *agentpb.Response_GetTasks {
	out := &agentpb.Response_GetTasks{}
	clone := func(t *mesospb.Task) *mesospb.Task { return proto.Clone(t).(*mesospb.Task) }
	for _, f := range a.sortedFrameworks() {
		for _, e := range append(f.sortedExecutors(), f.completed...) {
			for _, t := range e.queuedTasks() {
				out.QueuedTasks = append(out.QueuedTasks, clone(t.t))
			}
			for _, t := range e.launchedTasks() {
				if t.terminal() {
					out.TerminatedTasks = append(out.TerminatedTasks, clone(t.t))
				} else {
					out.LaunchedTasks = append(out.LaunchedTasks, clone(t.t))
				}
			}
			for _, t := range e.finished {
				out.CompletedTasks = append(out.CompletedTasks, clone(t))
			}
		}
	}
	for _, f := range a.completedFrameworks {
		for _, e := range f.completed {
			for _, t := range e.finished {
				out.CompletedTasks = append(out.CompletedTasks, clone(t))
			}
		}
	}
	return out
}

func (a *Agent) getExecutorsLocked() *agentpb.Response_GetExecutors {
	out := &agentpb.Response_GetExecutors{}
	for _, f := range a.sortedFrameworks() {
		for _, e := range f.sortedExecutors() {
			out.Executors = append(out.Executors, &agentpb.Response_GetExecutors_Executor{ExecutorInfo: e.info})
		}
		for _, e := range f.completed {
			out.CompletedExecutors = append(out.CompletedExecutors, &agentpb.Response_GetExecutors_Executor{ExecutorInfo: e.info})
		}
	}
	return out
}

func (a *Agent) getFrameworksLocked() *agentpb.Response_GetFrameworks {
	out := &agentpb.Response_GetFrameworks{}
	for _, f := range a.sortedFrameworks() {
		out.Frameworks = append(out.Frameworks, &agentpb.Response_GetFrameworks_Framework{FrameworkInfo: f.info})
	}
	for _, f := range a.completedFrameworks {
		out.CompletedFrameworks = append(out.CompletedFrameworks, &agentpb.Response_GetFrameworks_Framework{FrameworkInfo: f.info})
	}
	return out
}
