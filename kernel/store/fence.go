package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ErrFenced is returned by a write of a leader that has been superseded: another process
// claimed the same name with a newer epoch. A fenced process must stop acting as leader.
var ErrFenced = errors.New("store: fenced: a newer leader holds the epoch")

// LeaderEpoch is the fencing row of one leadership (the master, the apps service, ...).
type LeaderEpoch struct {
	Name      string `gorm:"primaryKey;size:64"`
	Epoch     int64
	Holder    string `gorm:"size:255"`
	UpdatedAt time.Time
}

// ClaimEpoch makes holder the writer of name: it increments and returns name's epoch. Every
// later write checked with CheckEpoch against an older epoch fails with ErrFenced, so a
// deposed leader that has not noticed yet cannot write.
func ClaimEpoch(ctx context.Context, db *gorm.DB, name, holder string) (int64, error) {
	var epoch int64
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).
			Create(&LeaderEpoch{Name: name, UpdatedAt: time.Now()}).Error; err != nil {
			return err
		}
		if err := tx.Model(&LeaderEpoch{}).Where("name = ?", name).Updates(map[string]any{
			"epoch": gorm.Expr("epoch + 1"), "holder": holder, "updated_at": time.Now(),
		}).Error; err != nil {
			return err
		}
		return tx.Model(&LeaderEpoch{}).Where("name = ?", name).Select("epoch").Scan(&epoch).Error
	})
	if err != nil {
		return 0, fmt.Errorf("store: claim epoch %s: %w", name, err)
	}
	return epoch, nil
}

// CheckEpoch fails with ErrFenced unless name's epoch is still epoch. Run inside the write's
// transaction: it locks the fencing row until the transaction ends, so a claim cannot slip in
// between the check and the write.
func CheckEpoch(tx *gorm.DB, name string, epoch int64) error {
	res := tx.Model(&LeaderEpoch{}).Where("name = ? AND epoch = ?", name, epoch).Update("epoch", epoch)
	if res.Error != nil {
		return fmt.Errorf("store: check epoch %s: %w", name, res.Error)
	}
	if res.RowsAffected != 1 {
		return ErrFenced
	}
	return nil
}
