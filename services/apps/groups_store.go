package apps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"strata/services/apps/app"
	"strata/services/apps/deploy"
	"strata/services/apps/store"
)

// The root group's versions, for the deploy package's RootStore.

// CommitRoot commits a deployment (see Commit) with the root version it makes, in one
// transaction; the versions of the apps it deletes are archived for the older root versions.
func (s deployStore) CommitRoot(ctx context.Context, root *deploy.Root, save []*app.App, del []string, deployments []*deploy.Deployment) error {
	data, err := json.Marshal(root)
	if err != nil {
		return fmt.Errorf("encode root %s: %w", root.Version, err)
	}
	return s.st.Tx(ctx, func(tx *store.Store) error {
		for _, id := range del {
			if err := tx.ArchiveApp(ctx, id, root.Version); err != nil {
				return err
			}
		}
		if err := (deployStore{tx}).Commit(ctx, save, del, deployments); err != nil {
			return err
		}
		return tx.SaveRoot(ctx, root.Version, data)
	})
}

func decodeRoot(version string, data []byte) (*deploy.Root, error) {
	root := &deploy.Root{}
	if err := json.Unmarshal(data, root); err != nil {
		return nil, fmt.Errorf("decode root %s: %w", version, err)
	}
	root.Version = version
	return root, nil
}

func (s deployStore) LatestRoot(ctx context.Context) (*deploy.Root, error) {
	version, data, err := s.st.LatestRoot(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return decodeRoot(version, data)
}

func (s deployStore) RootVersions(ctx context.Context) ([]string, error) {
	return s.st.RootVersions(ctx)
}

func (s deployStore) RootAt(ctx context.Context, version, group string) (*deploy.Root, []*app.App, error) {
	data, err := s.st.Root(ctx, version)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, fmt.Errorf("%w: root %s", deploy.ErrVersionNotFound, version)
	}
	if err != nil {
		return nil, nil, err
	}
	root, err := decodeRoot(version, data)
	if err != nil {
		return nil, nil, err
	}
	apps, err := s.st.AppsAt(ctx, version, group)
	if err != nil {
		return nil, nil, err
	}
	return root, apps, nil
}
