package api

import (
	"errors"

	"github.com/gin-gonic/gin"

	"strata/services/apps/app"
	"strata/services/apps/deploy"
	"strata/services/apps/events"
)

// Publisher receives the API's events (api_post_event).
type Publisher interface {
	Emit(e events.Typed) (uint64, error)
}

// deploy runs changes as one deployment (forced with ?force=true) and, once it is accepted,
// publishes an api_post_event for every app it changes, with the app's new definition (the
// last one for a deleted app), as Marathon does for changes made through its API.
func (s *Server) deploy(c *gin.Context, changes []deploy.Change) (*deploy.Deployment, error) {
	before := map[string]*app.App{}
	for _, ch := range changes {
		if ch.Kind == deploy.DeleteApp {
			if a, ok := s.cfg.Deployer.App(ch.ID); ok {
				before[ch.ID] = a
			}
		}
	}
	d, err := s.cfg.Deployer.Deploy(c.Request.Context(), changes, flag(c, "force", false))
	if err != nil {
		return nil, err
	}
	for _, ch := range changes {
		id := ch.ID
		if ch.Kind == deploy.PutApp {
			id = ch.App.ID
		}
		a, ok := s.cfg.Deployer.App(id)
		if !ok {
			a = before[id]
		}
		s.postEvent(c, a)
	}
	return d, nil
}

// postEvent publishes an api_post_event for a changed app.
func (s *Server) postEvent(c *gin.Context, a *app.App) {
	if s.cfg.Events == nil || a == nil {
		return
	}
	_, err := s.cfg.Events.Emit(events.APIPostEvent{ClientIP: c.RemoteIP(), URI: c.Request.URL.Path, AppDefinition: a})
	if err != nil && !errors.Is(err, events.ErrClosed) {
		s.log.Warn("publishing api_post_event", "app", a.ID, "err", err)
	}
}

// cancel cancels a deployment and publishes an api_post_event for every app its rollback
// changes.
func (s *Server) cancel(c *gin.Context, id string, rollback bool) (*deploy.Deployment, error) {
	d, err := s.cfg.Deployer.Cancel(c.Request.Context(), id, rollback)
	if err != nil || d == nil {
		return d, err
	}
	for _, appID := range d.AffectedApps {
		if a, ok := s.cfg.Deployer.App(appID); ok {
			s.postEvent(c, a)
		} else if a := d.Originals[appID]; a != nil {
			s.postEvent(c, a)
		}
	}
	return d, nil
}
