package framework

import (
	"context"
	"sort"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/mesospb"
	"strata/services/apps/events"
	"strata/services/apps/instance"
	"strata/services/apps/placement"
	"strata/services/apps/placement/constraint"
)

type launch struct {
	offer *mesospb.Offer
	tasks []*mesospb.TaskInfo
	ids   []string
	// events announce the tasks as staging once the launch is sent.
	events []events.Typed
}

// launchable lists the scheduled instances whose app may launch now, oldest first. f.mu is held.
func (f *Framework) launchable(now time.Time) []*instance.Instance {
	var out []*instance.Instance
	for _, i := range f.instances {
		if i.State != instance.Scheduled {
			continue
		}
		st := f.apps[i.AppID]
		if st == nil || now.Before(st.delayUntil) || i.ConfigVersion != st.app.ConfigVersion() {
			continue
		}
		out = append(out, i)
	}
	sort.Slice(out, func(a, b int) bool {
		if !out[a].ScheduledAt.Equal(out[b].ScheduledAt) {
			return out[a].ScheduledAt.Before(out[b].ScheduledAt)
		}
		return out[a].TaskID < out[b].TaskID
	})
	return out
}

// offers matches waiting instances to offers, launches what fits and declines the rest. Every
// app with waiting instances sees every offer (until its instances are all placed): the offer
// is recorded in the app's statistics as used when it took one of its instances, else as unused
// with the placement's rejection, for /v2/queue.
func (f *Framework) offers(ctx context.Context, offers []*mesospb.Offer) {
	f.metrics.offers.Add(float64(len(offers)))
	now := time.Now().UTC()
	var launches []launch
	var declineIdle, declineUnfit []*mesospb.OfferID

	f.mu.Lock()
	waiting := []*instance.Instance{}
	if f.reconciled {
		waiting = f.launchable(now)
	}
	attempted := map[string]bool{} // apps that had instances waiting
	for _, i := range waiting {
		attempted[i.AppID] = true
	}
	var staged []*instance.Instance
	for _, o := range offers {
		r := placement.NewRemaining(o)
		var l launch
		rejected := map[string]*placement.Rejection{} // the first rejection of each app on this offer
		used := map[string]bool{}
		rest := waiting[:0]
		for _, i := range waiting {
			st := f.apps[i.AppID]
			if _, no := rejected[i.AppID]; no || st.matcher == nil {
				rest = append(rest, i) // the offer will not change its mind for this app
				continue
			}
			fit, rej := st.matcher.Match(r, st.index, nil)
			if rej != nil {
				rejected[i.AppID] = rej
				rest = append(rest, i)
				continue
			}
			st.indexed[i.TaskID] = fit.Host // Match added it to the index
			used[i.AppID] = true
			l.tasks = append(l.tasks, buildTask(st.app, i.TaskID, o, fit))
			l.ids = append(l.ids, i.TaskID)
			i.State = instance.Staging
			i.AgentID, i.Host, i.Ports, i.Placement = fit.AgentID, fit.Hostname, portsOf(fit), fit.Host
			i.StagedAt, i.UpdatedAt = now, now
			staged = append(staged, i)
			l.events = append(l.events, statusEvents(i, mesospb.TaskState_TASK_STAGING, "")...)
		}
		for appID := range used {
			f.apps[appID].stats.Used(o.GetAgentId().GetValue(), now)
		}
		for appID, rej := range rejected {
			if !used[appID] {
				f.apps[appID].stats.Unused(o, rej, now)
			}
		}
		waiting = rest
		switch {
		case len(l.tasks) > 0:
			l.offer = o
			launches = append(launches, l)
		case len(waiting) > 0 || !f.reconciled:
			declineUnfit = append(declineUnfit, o.GetId())
		default:
			declineIdle = append(declineIdle, o.GetId())
		}
	}
	if err := f.cfg.Store.PutInstances(ctx, staged...); err != nil {
		// Not durable: launching now could leave tasks the service forgets. Put them back.
		f.log.Error("persisting launches; declining the offers", "err", err)
		for _, i := range staged {
			i.State, i.AgentID, i.Host, i.Ports, i.StagedAt = instance.Scheduled, "", "", nil, time.Time{}
			i.Placement = constraint.Host{}
			f.reindex(i, now)
		}
		for _, l := range launches {
			declineUnfit = append(declineUnfit, l.offer.GetId())
		}
		launches = nil
		waiting = append(waiting, staged...)
	}
	still := map[string]bool{}
	for _, i := range waiting {
		still[i.AppID] = true
	}
	for appID := range attempted {
		if st := f.apps[appID]; st != nil && !still[appID] {
			st.stats.Reset() // every instance launched: the launch attempt is over
		}
	}
	more := len(waiting) > 0
	f.mu.Unlock()

	for _, l := range launches {
		refuse := f.cfg.DeclineRefuse
		if more {
			refuse = f.cfg.UnfitRefuse
		}
		err := f.client().Launch(ctx, []*mesospb.OfferID{l.offer.GetId()}, l.tasks, refuseFor(refuse))
		if err != nil {
			// The tasks may or may not have reached the master: forget them (a task that does
			// run reports in and is killed as unknown) and schedule replacements.
			f.log.Error("launch failed", "agent", l.offer.GetHostname(), "tasks", len(l.tasks), "err", err)
			f.mu.Lock()
			var apps []string
			for _, id := range l.ids {
				if i := f.instances[id]; i != nil {
					apps = append(apps, i.AppID)
				}
			}
			f.forget(l.ids...)
			for _, a := range apps {
				f.converge(a)
			}
			f.reviveWant = true
			f.mu.Unlock()
			continue
		}
		f.emit(l.events...)
		f.metrics.launched.Add(float64(len(l.tasks)))
		f.log.Info("launched", "agent", l.offer.GetHostname(), "tasks", l.ids)
	}
	f.decline(ctx, declineUnfit, f.cfg.UnfitRefuse)
	f.decline(ctx, declineIdle, f.cfg.DeclineRefuse)
	f.kick()
	if len(launches) > 0 {
		f.cfg.OnChange()
	}
}

// portsOf lists an instance's host ports, one per port of its app (0 for a container port
// without a host port), in the order of the app's ports.
func portsOf(fit *placement.Fit) []int {
	out := make([]int, len(fit.Ports))
	for k, p := range fit.Ports {
		out[k] = p.HostPort
	}
	return out
}

func (f *Framework) decline(ctx context.Context, ids []*mesospb.OfferID, refuse time.Duration) {
	if len(ids) == 0 {
		return
	}
	f.metrics.declined.Add(float64(len(ids)))
	if err := f.client().Decline(ctx, ids, refuseFor(refuse)); err != nil {
		f.log.Warn("decline", "offers", len(ids), "err", err)
	}
}

func refuseFor(d time.Duration) *mesospb.Filters {
	return &mesospb.Filters{RefuseSeconds: proto.Float64(d.Seconds())}
}
