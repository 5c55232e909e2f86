package framework

import (
	"context"
	"sort"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/resources"
	"strata/services/apps/instance"
)

type launch struct {
	offer *mesospb.Offer
	tasks []*mesospb.TaskInfo
	ids   []string
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

// placements lists where the app's active launched instances run. f.mu is held.
func (f *Framework) placements(appID string, now time.Time) []Placement {
	st := f.apps[appID]
	if st == nil {
		return nil
	}
	var out []Placement
	for _, i := range f.activeOf(st, now) {
		if i.AgentID == "" {
			continue
		}
		ag := f.agents[i.AgentID]
		host := i.Host
		if host == "" {
			host = ag.hostname
		}
		out = append(out, Placement{AgentID: i.AgentID, Hostname: host, Region: ag.region, Zone: ag.zone, Attributes: ag.attributes})
	}
	return out
}

// offers matches waiting instances to offers, launches what fits and declines the rest.
func (f *Framework) offers(ctx context.Context, offers []*mesospb.Offer) {
	f.metrics.offers.Add(float64(len(offers)))
	now := time.Now().UTC()
	var launches []launch
	var declineIdle, declineUnfit []*mesospb.OfferID

	f.mu.Lock()
	for _, o := range offers {
		f.agents[o.GetAgentId().GetValue()] = agentInfo{
			hostname: o.GetHostname(), attributes: o.GetAttributes(),
			region: o.GetDomain().GetFaultDomain().GetRegion().GetName(),
			zone:   o.GetDomain().GetFaultDomain().GetZone().GetName(),
		}
	}
	waiting := []*instance.Instance{}
	if f.reconciled {
		waiting = f.launchable(now)
	}
	others := map[string][]Placement{}
	var staged []*instance.Instance
	for _, o := range offers {
		remaining := resources.Clone(o.GetResources())
		var l launch
		rest := waiting[:0]
		for _, i := range waiting {
			st := f.apps[i.AppID]
			if _, ok := others[i.AppID]; !ok {
				others[i.AppID] = f.placements(i.AppID, now)
			}
			fit, err := f.cfg.Placer.Place(st.app, o, remaining, others[i.AppID])
			if err != nil {
				rest = append(rest, i)
				continue
			}
			remaining = resources.Subtract(remaining, fit.Resources)
			l.tasks = append(l.tasks, buildTask(st.app, i.TaskID, o, fit))
			l.ids = append(l.ids, i.TaskID)
			i.State = instance.Staging
			i.AgentID, i.Host, i.Ports = o.GetAgentId().GetValue(), o.GetHostname(), fit.Ports
			i.StagedAt, i.UpdatedAt = now, now
			staged = append(staged, i)
			others[i.AppID] = append(others[i.AppID], Placement{AgentID: i.AgentID, Hostname: i.Host, Attributes: o.GetAttributes()})
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
		}
		for _, l := range launches {
			declineUnfit = append(declineUnfit, l.offer.GetId())
		}
		launches = nil
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
