package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm/clause"
)

// Deployment is a stored deployment: its id, status and the JSON the deploy package encodes it
// as.
type Deployment struct {
	ID     string
	Status string
	Data   []byte
}

// PutDeployment inserts or replaces a deployment.
func (s *Store) PutDeployment(ctx context.Context, d Deployment) error {
	now := time.Now()
	row := deploymentRow{ID: d.ID, Status: d.Status, Data: string(d.Data), CreatedAt: now, UpdatedAt: now}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "id"}},
		DoUpdates: clause.AssignmentColumns([]string{"status", "data", "updated_at"}),
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("apps store: save deployment %s: %w", d.ID, err)
	}
	return nil
}

// Deployments returns the stored deployments, oldest first; with statuses, only those in one of
// them.
func (s *Store) Deployments(ctx context.Context, statuses ...string) ([]Deployment, error) {
	q := s.db.WithContext(ctx).Order("created_at").Order("id")
	if len(statuses) > 0 {
		q = q.Where("status IN ?", statuses)
	}
	var rows []deploymentRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("apps store: list deployments: %w", err)
	}
	out := make([]Deployment, 0, len(rows))
	for _, r := range rows {
		out = append(out, Deployment{ID: r.ID, Status: r.Status, Data: []byte(r.Data)})
	}
	return out, nil
}

// PruneDeployments deletes deployments whose status is not one of running beyond the newest
// keep, and returns how many it deleted.
func (s *Store) PruneDeployments(ctx context.Context, keep int, running ...string) (int64, error) {
	var old []string
	q := s.db.WithContext(ctx).Model(&deploymentRow{}).Order("updated_at DESC").Order("id DESC").Offset(keep)
	if len(running) > 0 {
		q = q.Where("status NOT IN ?", running)
	}
	if err := q.Pluck("id", &old).Error; err != nil {
		return 0, fmt.Errorf("apps store: list old deployments: %w", err)
	}
	if len(old) == 0 {
		return 0, nil
	}
	res := s.db.WithContext(ctx).Where("id IN ?", old).Delete(&deploymentRow{})
	if res.Error != nil {
		return 0, fmt.Errorf("apps store: prune deployments: %w", res.Error)
	}
	return res.RowsAffected, nil
}
