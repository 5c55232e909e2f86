package store

import "time"

// appRow is the current definition of one app.
type appRow struct {
	ID         string `gorm:"primaryKey;size:255"`
	Version    string `gorm:"size:32"`
	Definition string `gorm:"type:text"` // the app's JSON
	// LastTaskFailure is the JSON of the app's last task failure, or empty.
	LastTaskFailure string `gorm:"type:text"`
	// LastGoodVersion is the version the app's last successful deployment made, or empty.
	LastGoodVersion string `gorm:"size:32"`
	UpdatedAt       time.Time
}

func (appRow) TableName() string { return "apps_apps" }

// versionRow is one stored version of an app.
type versionRow struct {
	AppID      string `gorm:"primaryKey;size:255"`
	Version    string `gorm:"primaryKey;size:32"`
	Definition string `gorm:"type:text"`
	CreatedAt  time.Time
}

func (versionRow) TableName() string { return "apps_versions" }

// instanceRow is one instance.
type instanceRow struct {
	TaskID           string `gorm:"primaryKey;size:255"`
	AppID            string `gorm:"size:255;index"`
	Version          string `gorm:"size:32"`
	ConfigVersion    string `gorm:"size:32"`
	AgentID          string `gorm:"size:255"`
	Host             string `gorm:"size:255"`
	Ports            string `gorm:"type:text"` // JSON array of host ports
	IPAddresses      string `gorm:"type:text"` // JSON array
	State            string `gorm:"size:32"`
	Message          string `gorm:"type:text"`
	KillRequested    bool
	KillReason       string `gorm:"size:32"`
	ReplacedBy       string `gorm:"size:255"`
	KillHeldSince    time.Time
	ScheduledAt      time.Time
	StagedAt         time.Time
	StartedAt        time.Time
	StatusAt         time.Time // the instance's UpdatedAt (not gorm's auto-updated column)
	UnreachableSince time.Time
	Health           string `gorm:"type:text"` // JSON, empty when no result yet
	Placement        string `gorm:"type:text"` // JSON of the agent as constraints see it, empty before placement
}

func (instanceRow) TableName() string { return "apps_instances" }

// deploymentRow is one deployment, running or finished.
type deploymentRow struct {
	ID        string `gorm:"primaryKey;size:64"`
	Status    string `gorm:"size:16;index"`
	Data      string `gorm:"type:text"` // the deployment's JSON
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (deploymentRow) TableName() string { return "apps_deployments" }

// metaRow holds small named values (the framework id, the event id reservation).
type metaRow struct {
	Key   string `gorm:"primaryKey;size:128"`
	Value string `gorm:"type:text"`
}

func (metaRow) TableName() string { return "apps_meta" }
