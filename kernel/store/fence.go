package store

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
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

// Fence guards every write made through one gorm.DB with a leader epoch: once Claim has
// succeeded, each create, update and delete first checks, in its own transaction, that no
// later claim of the same name happened anywhere, and fails with ErrFenced otherwise. Until
// Claim, writes are not checked (a single process owning its database). Writes must go
// through gorm's create, update and delete (not Exec) to be checked.
type Fence struct {
	name     string
	epoch    atomic.Int64
	onFenced atomic.Pointer[func()]
}

// NewFence installs on db the fence of name (the master, "apps", "jobs").
func NewFence(db *gorm.DB, name string) (*Fence, error) {
	f := &Fence{name: name}
	cb := db.Callback()
	const key = "strata:fence"
	for _, err := range []error{
		cb.Create().After("gorm:begin_transaction").Before("gorm:before_create").Register(key, f.check),
		cb.Update().After("gorm:begin_transaction").Before("gorm:setup_reflect_value").Register(key, f.check),
		cb.Delete().After("gorm:begin_transaction").Before("gorm:before_delete").Register(key, f.check),
	} {
		if err != nil {
			return nil, fmt.Errorf("store: install fence %s: %w", name, err)
		}
	}
	return f, nil
}

// Claim fences every earlier holder of the name off the store: from now on the writes through
// this fence's database succeed only while no later Claim happened, anywhere. onFenced, if not
// nil, is called (once per failed write) when a write fails because of a later claim.
func (f *Fence) Claim(ctx context.Context, db *gorm.DB, holder string, onFenced func()) (int64, error) {
	epoch, err := ClaimEpoch(ctx, db, f.name, holder)
	if err != nil {
		return 0, err
	}
	if onFenced != nil {
		f.onFenced.Store(&onFenced)
	}
	f.epoch.Store(epoch)
	return epoch, nil
}

// Epoch is the claimed epoch, 0 before Claim.
func (f *Fence) Epoch() int64 { return f.epoch.Load() }

// check is the gorm callback: it runs in the statement's transaction, before the write.
func (f *Fence) check(db *gorm.DB) {
	epoch := f.epoch.Load()
	if epoch == 0 || db.Error != nil || isLeaderEpoch(db.Statement) {
		return
	}
	tx := db.Session(&gorm.Session{NewDB: true, Context: db.Statement.Context})
	err := CheckEpoch(tx, f.name, epoch)
	if err == nil {
		return
	}
	_ = db.AddError(err)
	if errors.Is(err, ErrFenced) {
		if cb := f.onFenced.Load(); cb != nil {
			(*cb)()
		}
	}
}

// isLeaderEpoch reports whether stmt writes the fencing rows themselves, which are never fenced.
func isLeaderEpoch(stmt *gorm.Statement) bool {
	_, ok := stmt.Model.(*LeaderEpoch)
	return ok
}
