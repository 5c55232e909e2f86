package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	kstore "strata/kernel/store"

	"strata/services/jobs/runs"
)

// jobRow is a job's definition.
type jobRow struct {
	ID         string `gorm:"primaryKey;size:255"`
	Definition string `gorm:"type:text"`
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

func (jobRow) TableName() string { return "jobs_jobs" }

// tickRow is the last tick of a schedule that was run or recorded skipped.
type tickRow struct {
	JobID      string `gorm:"primaryKey;size:255"`
	ScheduleID string `gorm:"primaryKey;size:255"`
	LastTick   time.Time
}

func (tickRow) TableName() string { return "jobs_schedule_ticks" }

// runRow is one run.
type runRow struct {
	JobID     string `gorm:"primaryKey;size:255"`
	ID        string `gorm:"primaryKey;size:64"`
	Status    string `gorm:"size:16"`
	Done      bool   `gorm:"index"`
	CreatedAt time.Time
	Data      string `gorm:"type:text"`
}

func (runRow) TableName() string { return "jobs_runs" }

type metaRow struct {
	Key   string `gorm:"primaryKey;size:64"`
	Value string `gorm:"type:text"`
}

func (metaRow) TableName() string { return "jobs_meta" }

// Store is the jobs service's state.
type Store struct {
	db    *gorm.DB
	fence *kstore.Fence
}

// epochName is the fencing row of the leading jobs service replica.
const epochName = "jobs"

// migrations are the store's schema steps; append, never edit.
var migrations = []kstore.Migration{
	{Version: 1, Name: "jobs, schedule ticks, runs, meta, leader epochs", Apply: func(tx *gorm.DB) error {
		return tx.AutoMigrate(&jobRow{}, &tickRow{}, &runRow{}, &metaRow{}, &kstore.LeaderEpoch{})
	}},
}

// OpenSQLite opens (creating) the SQLite database at path.
func OpenSQLite(path string) (*Store, error) { return OpenDSN(path) }

// OpenDSN opens the database of dsn (a postgres:// URL shared by the service's replicas, or an
// SQLite path) and migrates it; on failure the database is closed.
func OpenDSN(dsn string) (*Store, error) {
	s, err := kstore.OpenDBWith(dsn, Open)
	if err != nil {
		return nil, fmt.Errorf("jobs store: %w", err)
	}
	return s, nil
}

// Open migrates db (versioned, safe for replicas migrating at once), installs the jobs
// service's fence on it and returns a Store on it.
func Open(db *gorm.DB) (*Store, error) {
	fence, err := kstore.NewFence(db, epochName)
	if err != nil {
		return nil, fmt.Errorf("jobs store: %w", err)
	}
	if err := kstore.Migrate(context.Background(), db, "jobs", migrations); err != nil {
		return nil, fmt.Errorf("jobs store: %w", err)
	}
	return &Store{db: db, fence: fence}, nil
}

// ClaimLeadership fences every earlier leader of the jobs service off the store: from now on
// writes through this Store succeed only while no later claim happened, anywhere, and fail with
// store.ErrFenced otherwise (onFenced, if not nil, is called then).
func (s *Store) ClaimLeadership(ctx context.Context, holder string, onFenced func()) (int64, error) {
	epoch, err := s.fence.Claim(ctx, s.db, holder, onFenced)
	if err != nil {
		return 0, fmt.Errorf("jobs store: %w", err)
	}
	return epoch, nil
}

// Close closes the database.
func (s *Store) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return fmt.Errorf("jobs store: %w", err)
	}
	return sqlDB.Close()
}

// SaveJob stores a job's definition (JSON).
func (s *Store) SaveJob(ctx context.Context, id string, def []byte) error {
	now := time.Now().UTC()
	row := jobRow{ID: id, Definition: string(def), CreatedAt: now, UpdatedAt: now}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "id"}},
		DoUpdates: clause.AssignmentColumns([]string{"definition", "updated_at"}),
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("jobs store: save job %s: %w", id, err)
	}
	return nil
}

// DeleteJob removes a job, its schedules' ticks and its runs.
func (s *Store) DeleteJob(ctx context.Context, id string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, m := range []any{&jobRow{}, &tickRow{}, &runRow{}} {
			col := "job_id"
			if _, ok := m.(*jobRow); ok {
				col = "id"
			}
			if err := tx.Where(col+" = ?", id).Delete(m).Error; err != nil {
				return fmt.Errorf("jobs store: delete job %s: %w", id, err)
			}
		}
		return nil
	})
}

// Jobs returns every job's definition by id.
func (s *Store) Jobs(ctx context.Context) (map[string][]byte, error) {
	var rows []jobRow
	if err := s.db.WithContext(ctx).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("jobs store: list jobs: %w", err)
	}
	out := make(map[string][]byte, len(rows))
	for _, r := range rows {
		out[r.ID] = []byte(r.Definition)
	}
	return out, nil
}

// TickKey names a schedule.
type TickKey struct{ JobID, ScheduleID string }

// LastTicks returns the last handled tick of every schedule that has one.
func (s *Store) LastTicks(ctx context.Context) (map[TickKey]time.Time, error) {
	var rows []tickRow
	if err := s.db.WithContext(ctx).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("jobs store: list ticks: %w", err)
	}
	out := make(map[TickKey]time.Time, len(rows))
	for _, r := range rows {
		out[TickKey{r.JobID, r.ScheduleID}] = r.LastTick.UTC()
	}
	return out, nil
}

// SetLastTick records a schedule's last handled tick (without a run: a
// schedule created or re-enabled starts from now).
func (s *Store) SetLastTick(ctx context.Context, k TickKey, tick time.Time) error {
	return setTick(s.db.WithContext(ctx), k, tick)
}

func setTick(db *gorm.DB, k TickKey, tick time.Time) error {
	row := tickRow{JobID: k.JobID, ScheduleID: k.ScheduleID, LastTick: tick.UTC()}
	err := db.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "job_id"}, {Name: "schedule_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"last_tick"}),
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("jobs store: set tick of %s/%s: %w", k.JobID, k.ScheduleID, err)
	}
	return nil
}

func toRow(r *runs.Run) (runRow, error) {
	data, err := json.Marshal(r)
	if err != nil {
		return runRow{}, fmt.Errorf("jobs store: encode run %s: %w", r.ID, err)
	}
	return runRow{JobID: r.JobID, ID: r.ID, Status: string(r.Status), Done: r.Status.Done(),
		CreatedAt: r.CreatedAt, Data: string(data)}, nil
}

// ErrExists is returned by CreateRuns for a run that was recorded before.
var ErrExists = errors.New("jobs store: run exists")

// CreateRuns records new runs (scheduled, skipped or manual) and, with
// tick set, moves the schedule's last tick to *tick, in one transaction. A
// run that exists already makes nothing happen and returns ErrExists: the
// tick was handled before.
func (s *Store) CreateRuns(ctx context.Context, k TickKey, tick *time.Time, list ...*runs.Run) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, r := range list {
			row, err := toRow(r)
			if err != nil {
				return err
			}
			res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
			if res.Error != nil {
				return fmt.Errorf("jobs store: create run %s/%s: %w", r.JobID, r.ID, res.Error)
			}
			if res.RowsAffected == 0 {
				return fmt.Errorf("%w: %s/%s", ErrExists, r.JobID, r.ID)
			}
		}
		if tick != nil {
			return setTick(tx, k, *tick)
		}
		return nil
	})
}

// SaveRun stores a run's current state.
func (s *Store) SaveRun(ctx context.Context, r *runs.Run) error {
	row, err := toRow(r)
	if err != nil {
		return err
	}
	if err := s.db.WithContext(ctx).Save(&row).Error; err != nil {
		return fmt.Errorf("jobs store: save run %s/%s: %w", r.JobID, r.ID, err)
	}
	return nil
}

func decodeRows(rows []runRow) ([]*runs.Run, error) {
	out := make([]*runs.Run, 0, len(rows))
	for _, row := range rows {
		var r runs.Run
		if err := json.Unmarshal([]byte(row.Data), &r); err != nil {
			return nil, fmt.Errorf("jobs store: decode run %s/%s: %w", row.JobID, row.ID, err)
		}
		out = append(out, &r)
	}
	return out, nil
}

// ActiveRuns returns every run that is not done.
func (s *Store) ActiveRuns(ctx context.Context) ([]*runs.Run, error) {
	var rows []runRow
	if err := s.db.WithContext(ctx).Where("done = ?", false).Order("created_at").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("jobs store: active runs: %w", err)
	}
	return decodeRows(rows)
}

// History returns a job's finished runs, newest first, at most limit.
func (s *Store) History(ctx context.Context, jobID string, limit int) ([]*runs.Run, error) {
	var rows []runRow
	q := s.db.WithContext(ctx).Where("job_id = ? AND done = ?", jobID, true).Order("created_at DESC").Order("id DESC")
	if limit > 0 {
		q = q.Limit(limit)
	}
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("jobs store: history of %s: %w", jobID, err)
	}
	return decodeRows(rows)
}

// Run returns one run.
func (s *Store) Run(ctx context.Context, jobID, runID string) (*runs.Run, error) {
	var rows []runRow
	if err := s.db.WithContext(ctx).Where("job_id = ? AND id = ?", jobID, runID).Limit(1).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("jobs store: run %s/%s: %w", jobID, runID, err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	out, err := decodeRows(rows)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// PruneHistory keeps a job's newest keep finished runs.
func (s *Store) PruneHistory(ctx context.Context, jobID string, keep int) error {
	var old []string
	err := s.db.WithContext(ctx).Model(&runRow{}).Where("job_id = ? AND done = ?", jobID, true).
		Order("created_at DESC").Order("id DESC").Offset(keep).Pluck("id", &old).Error
	if err != nil {
		return fmt.Errorf("jobs store: prune %s: %w", jobID, err)
	}
	if len(old) == 0 {
		return nil
	}
	if err := s.db.WithContext(ctx).Where("job_id = ? AND id IN ?", jobID, old).Delete(&runRow{}).Error; err != nil {
		return fmt.Errorf("jobs store: prune %s: %w", jobID, err)
	}
	return nil
}

const frameworkIDKey = "framework_id"

// FrameworkID returns the stored framework id, or "".
func (s *Store) FrameworkID(ctx context.Context) (string, error) {
	var rows []metaRow
	if err := s.db.WithContext(ctx).Where("key = ?", frameworkIDKey).Limit(1).Find(&rows).Error; err != nil {
		return "", fmt.Errorf("jobs store: framework id: %w", err)
	}
	if len(rows) == 0 {
		return "", nil
	}
	return rows[0].Value, nil
}

// SetFrameworkID stores the framework id.
func (s *Store) SetFrameworkID(ctx context.Context, id string) error {
	if err := s.db.WithContext(ctx).Save(&metaRow{Key: frameworkIDKey, Value: id}).Error; err != nil {
		return fmt.Errorf("jobs store: set framework id: %w", err)
	}
	return nil
}

// FinishRun stores a finished run and its job's definition (with the
// counters the run changed) in one transaction.
func (s *Store) FinishRun(ctx context.Context, r *runs.Run, jobDef []byte) error {
	row, err := toRow(r)
	if err != nil {
		return err
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Save(&row).Error; err != nil {
			return fmt.Errorf("jobs store: save run %s/%s: %w", r.JobID, r.ID, err)
		}
		if jobDef == nil {
			return nil
		}
		err := tx.Model(&jobRow{}).Where("id = ?", r.JobID).
			Updates(map[string]any{"definition": string(jobDef), "updated_at": time.Now().UTC()}).Error
		if err != nil {
			return fmt.Errorf("jobs store: save job %s: %w", r.JobID, err)
		}
		return nil
	})
}
