package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// eventIDKey names the meta row that holds the event id high-water mark.
const eventIDKey = "events_last_id"

// LastEventID returns the stored event id high-water mark (0 when none was stored): no event of
// an earlier run of the service had a larger id.
func (s *Store) LastEventID(ctx context.Context) (uint64, error) {
	var m metaRow
	err := s.db.WithContext(ctx).Where("key = ?", eventIDKey).Take(&m).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("apps store: read last event id: %w", err)
	}
	id, err := strconv.ParseUint(m.Value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("apps store: last event id %q: %w", m.Value, err)
	}
	return id, nil
}

// SetLastEventID stores the event id high-water mark.
func (s *Store) SetLastEventID(ctx context.Context, id uint64) error {
	if err := s.db.WithContext(ctx).Clauses(clause.OnConflict{UpdateAll: true}).
		Create(&metaRow{Key: eventIDKey, Value: strconv.FormatUint(id, 10)}).Error; err != nil {
		return fmt.Errorf("apps store: save last event id: %w", err)
	}
	return nil
}
