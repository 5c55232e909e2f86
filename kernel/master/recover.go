package master

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/mesospb"
	"strata/kernel/store"
)

// recover loads the durable state: registry agents wait to re-register, unreachable and gone agents
// are remembered, weights are applied, and frameworks come back as disconnected with their failover
// clocks running from the time they were last seen.
func (m *Master) recover(ctx context.Context) error {
	agents, err := m.store.Agents(ctx)
	if err != nil {
		return fmt.Errorf("master: recover: %w", err)
	}
	fws, err := m.store.Frameworks(ctx)
	if err != nil {
		return fmt.Errorf("master: recover: %w", err)
	}
	weights, err := m.store.Weights(ctx)
	if err != nil {
		return fmt.Errorf("master: recover: %w", err)
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range agents {
		rec := agents[i]
		switch rec.State {
		case store.AgentAdmitted:
			m.recoveredAgents[rec.ID] = &rec
		case store.AgentUnreachable:
			if rec.UnreachableAt != nil {
				m.unreachableAgents[rec.ID] = *rec.UnreachableAt
			} else {
				m.unreachableAgents[rec.ID] = rec.UpdatedAt
			}
		case store.AgentGone:
			if rec.GoneAt != nil {
				m.goneAgents[rec.ID] = *rec.GoneAt
			} else {
				m.goneAgents[rec.ID] = rec.UpdatedAt
			}
		}
	}
	if len(weights) > 0 {
		m.weights = weights
		if err := m.alloc.UpdateWeights(weights); err != nil {
			m.log.Warn("recover weights", "err", err)
		}
	}
	now := time.Now()
	for _, rec := range fws {
		if rec.RemovedAt != nil {
			m.removedFrameworkIDs[rec.ID] = true
			continue
		}
		info := &mesospb.FrameworkInfo{}
		if err := proto.Unmarshal(rec.Info, info); err != nil {
			m.log.Error("recover framework: bad record", "framework_id", rec.ID, "err", err)
			continue
		}
		fw := m.newFramework(info, rec.RegisteredAt)
		fw.recovered = true
		m.allocatorAddOrUpdateFramework(fw)
		since := now
		if rec.DisconnectedAt != nil {
			since = *rec.DisconnectedAt
		} else {
			// It was connected when the previous master stopped: like the agents, it gets the
			// re-registration window to find this master, even with a failover_timeout of 0.
			fw.recoveryGrace = m.cfg.AgentReregisterTimeout
		}
		m.disconnectFramework(fw, since)
	}
	if len(agents)+len(fws) > 0 {
		m.log.Info("recovered registry", "agents", len(m.recoveredAgents), "unreachable", len(m.unreachableAgents), "frameworks", len(m.frameworks))
	}
	return nil
}
