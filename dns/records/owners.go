package records

import (
	"net/netip"
	"slices"
)

// This file holds the owner operations a txn runs: each recomputes one owner's records and
// swaps them in, and cascades to the tasks whose names depend on the owner.

func (x *txn) upsertAgent(g *generator, a Agent) {
	ips, port, hasPort := agentAddrs(&a)
	ae := x.w.agents[a.ID]
	var old []Record
	known := ae != nil
	ipsChanged := !known || !slices.Equal(ae.ips, ips)
	if known {
		old = ae.recs
	}
	recs := g.agentRecords(ips, port, hasPort)
	x.swap(old, recs)
	x.w.agents[a.ID] = &agentEntry{a: a, ips: ips, recs: recs}
	if ipsChanged {
		for k := range x.w.byAgent[a.ID] {
			x.refreshTask(g, k)
		}
	}
}

func (x *txn) removeAgent(g *generator, id string) {
	ae := x.w.agents[id]
	if ae == nil {
		return
	}
	x.swap(ae.recs, nil)
	delete(x.w.agents, id)
	for k := range x.w.byAgent[id] {
		x.refreshTask(g, k)
	}
}

func (x *txn) upsertFramework(g *generator, f Framework) {
	frag := g.frameworkFrag(f.Name)
	ips, port, hasPort := frameworkAddrs(&f)
	recs := g.frameworkRecords(frag, ips, port, hasPort)
	fe := x.w.frameworks[f.ID]
	var old []Record
	fragChanged := fe == nil || fe.frag != frag
	if fe != nil {
		old = fe.recs
	}
	x.swap(old, recs)
	x.w.frameworks[f.ID] = &frameworkEntry{f: f, frag: frag, recs: recs}
	if fragChanged {
		for k := range x.w.byFramework[f.ID] {
			x.refreshTask(g, k)
		}
	}
}

func (x *txn) removeFramework(id string) {
	fe := x.w.frameworks[id]
	if fe != nil {
		x.swap(fe.recs, nil)
		delete(x.w.frameworks, id)
	}
	for k := range x.w.byFramework[id] {
		x.removeTask(k)
	}
}

func (x *txn) upsertTask(g *generator, t Task) {
	k := taskKey{t.FrameworkID, t.ID}
	if IsTerminal(t.State) {
		x.removeTask(k)
		return
	}
	te := x.w.tasks[k]
	if te == nil {
		te = &taskEntry{}
		x.w.tasks[k] = te
		addIndex(x.w.byFramework, t.FrameworkID, k)
		addIndex(x.w.byAgent, t.AgentID, k)
	} else if te.t.AgentID != t.AgentID {
		delIndex(x.w.byAgent, te.t.AgentID, k)
		addIndex(x.w.byAgent, t.AgentID, k)
	}
	te.t = t
	x.refreshTask(g, k)
}

// refreshTask recomputes a task's records from the current task, agent and framework.
// Records exist only for TASK_RUNNING tasks on known agents (reference §2) of known
// frameworks (in /master/state a task is always listed under its framework).
func (x *txn) refreshTask(g *generator, k taskKey) {
	te := x.w.tasks[k]
	if te == nil {
		return
	}
	var recs []Record
	ae, fe := x.w.agents[te.t.AgentID], x.w.frameworks[te.t.FrameworkID]
	te.published = te.t.State == TaskRunning && ae != nil && fe != nil
	if te.published {
		recs = g.taskRecords(&te.t, fe.frag, ae.ips)
	}
	x.swap(te.recs, recs)
	te.recs = recs
}

func (x *txn) removeTask(k taskKey) {
	te := x.w.tasks[k]
	if te == nil {
		return
	}
	x.swap(te.recs, nil)
	delete(x.w.tasks, k)
	delIndex(x.w.byFramework, k.fw, k)
	delIndex(x.w.byAgent, te.t.AgentID, k)
}

func (x *txn) setMasters(g *generator, leader string, masters []string) {
	recs := g.masterRecords(leader, masters)
	x.swap(x.w.masterRecs, recs)
	x.w.masterRecs = recs
}

func (x *txn) setNameserver(g *generator, ips []netip.Addr) {
	recs := g.nameserverRecords(ips)
	x.swap(x.w.nsRecs, recs)
	x.w.nsIPs, x.w.nsRecs = slices.Clone(ips), recs
}

func addIndex(idx map[string]map[taskKey]struct{}, id string, k taskKey) {
	m := idx[id]
	if m == nil {
		m = map[taskKey]struct{}{}
		idx[id] = m
	}
	m[k] = struct{}{}
}

func delIndex(idx map[string]map[taskKey]struct{}, id string, k taskKey) {
	if m := idx[id]; m != nil {
		delete(m, k)
		if len(m) == 0 {
			delete(idx, id)
		}
	}
}
