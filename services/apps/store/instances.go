package store

import (
	"context"
	"encoding/json"
	"fmt"

	"gorm.io/gorm/clause"

	"strata/services/apps/instance"
)

func toRow(i *instance.Instance) (instanceRow, error) {
	ports, err := json.Marshal(i.Ports)
	if err != nil {
		return instanceRow{}, err
	}
	ips, err := json.Marshal(i.IPAddresses)
	if err != nil {
		return instanceRow{}, err
	}
	health := ""
	if i.Health != nil {
		b, err := json.Marshal(i.Health)
		if err != nil {
			return instanceRow{}, err
		}
		health = string(b)
	}
	placement := ""
	if i.Placement.AgentID != "" || i.Placement.Hostname != "" {
		b, err := json.Marshal(i.Placement)
		if err != nil {
			return instanceRow{}, err
		}
		placement = string(b)
	}
	return instanceRow{
		TaskID: i.TaskID, AppID: i.AppID, Version: i.Version, ConfigVersion: i.ConfigVersion,
		AgentID: i.AgentID, Host: i.Host, Ports: string(ports), IPAddresses: string(ips),
		State: i.State, Message: i.Message, KillRequested: i.KillRequested,
		KillReason: i.KillReason, ReplacedBy: i.ReplacedBy, KillHeldSince: i.KillHeldSince,
		ScheduledAt: i.ScheduledAt, StagedAt: i.StagedAt, StartedAt: i.StartedAt, StatusAt: i.UpdatedAt,
		UnreachableSince: i.UnreachableSince, Health: health, Placement: placement,
	}, nil
}

func fromRow(r instanceRow) (*instance.Instance, error) {
	i := &instance.Instance{
		TaskID: r.TaskID, AppID: r.AppID, Version: r.Version, ConfigVersion: r.ConfigVersion,
		AgentID: r.AgentID, Host: r.Host, State: r.State, Message: r.Message, KillRequested: r.KillRequested,
		KillReason: r.KillReason, ReplacedBy: r.ReplacedBy, KillHeldSince: r.KillHeldSince.UTC(),
		ScheduledAt: r.ScheduledAt.UTC(), StagedAt: r.StagedAt.UTC(), StartedAt: r.StartedAt.UTC(),
		UpdatedAt: r.StatusAt.UTC(), UnreachableSince: r.UnreachableSince.UTC(),
	}
	if r.Ports != "" {
		if err := json.Unmarshal([]byte(r.Ports), &i.Ports); err != nil {
			return nil, err
		}
	}
	if r.IPAddresses != "" {
		if err := json.Unmarshal([]byte(r.IPAddresses), &i.IPAddresses); err != nil {
			return nil, err
		}
	}
	if r.Health != "" {
		i.Health = &instance.Health{}
		if err := json.Unmarshal([]byte(r.Health), i.Health); err != nil {
			return nil, err
		}
	}
	if r.Placement != "" {
		if err := json.Unmarshal([]byte(r.Placement), &i.Placement); err != nil {
			return nil, err
		}
	}
	return i, nil
}

// PutInstances inserts or replaces instances, all in one transaction.
func (s *Store) PutInstances(ctx context.Context, list ...*instance.Instance) error {
	if len(list) == 0 {
		return nil
	}
	rows := make([]instanceRow, 0, len(list))
	for _, i := range list {
		r, err := toRow(i)
		if err != nil {
			return fmt.Errorf("apps store: encode instance %s: %w", i.TaskID, err)
		}
		rows = append(rows, r)
	}
	if err := s.db.WithContext(ctx).Clauses(clause.OnConflict{UpdateAll: true}).CreateInBatches(rows, 200).Error; err != nil {
		return fmt.Errorf("apps store: save %d instances: %w", len(rows), err)
	}
	return nil
}

// DeleteInstances removes instances by task id.
func (s *Store) DeleteInstances(ctx context.Context, taskIDs ...string) error {
	if len(taskIDs) == 0 {
		return nil
	}
	if err := s.db.WithContext(ctx).Where("task_id IN ?", taskIDs).Delete(&instanceRow{}).Error; err != nil {
		return fmt.Errorf("apps store: delete instances: %w", err)
	}
	return nil
}

// Instances returns every stored instance.
func (s *Store) Instances(ctx context.Context) ([]*instance.Instance, error) {
	var rows []instanceRow
	if err := s.db.WithContext(ctx).Order("task_id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("apps store: list instances: %w", err)
	}
	out := make([]*instance.Instance, 0, len(rows))
	for _, r := range rows {
		i, err := fromRow(r)
		if err != nil {
			return nil, fmt.Errorf("apps store: decode instance %s: %w", r.TaskID, err)
		}
		out = append(out, i)
	}
	return out, nil
}
