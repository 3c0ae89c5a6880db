package command

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/stepcqrs/stepcqrs/core"
)

// GetData reads the data row of the entity at key (pk, sk without
// version), with offloaded attributes resolved. A missing row gives an
// error matching core.ErrNotFound. consistent asks for a strongly
// consistent read.
func (s *Service) GetData(ctx context.Context, key core.Key, consistent bool) (*core.Data, error) {
	if err := s.authorize(ctx, key); err != nil {
		return nil, err
	}
	item, err := s.store.Get(ctx, s.dataTable, key, consistent)
	if err != nil {
		return nil, err
	}
	var d core.Data
	if err := core.UnmarshalItem(item, &d); err != nil {
		return nil, err
	}
	if err := s.resolveData(ctx, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// ListInput selects data rows of one partition.
type ListInput struct {
	// PK is the partition, e.g. ORDER#acme.
	PK string
	// Op, SK and SK2 restrict the sort key (core.SKAny: no restriction).
	Op      core.SKOp
	SK, SK2 string
	// Descending lists in decreasing sort-key order.
	Descending bool
	// Limit caps the page; 0 means 100.
	Limit int
	// Cursor continues a listing: ListPage.Cursor of the previous page.
	Cursor string
}

// ListPage is one page of data rows. Cursor is empty on the last page.
type ListPage struct {
	Items  []core.Data
	Cursor string
}

// ListData lists data rows, offloaded attributes resolved. A page may hold
// fewer than Limit rows and still have a Cursor; loop until it is empty.
func (s *Service) ListData(ctx context.Context, in ListInput) (ListPage, error) {
	if err := s.authorizePK(ctx, in.PK); err != nil {
		return ListPage{}, err
	}
	limit := in.Limit
	if limit <= 0 {
		limit = 100
	}
	q := core.Query{PK: in.PK, Op: in.Op, SK: in.SK, SK2: in.SK2, Descending: in.Descending, Limit: limit}
	if in.Cursor != "" {
		k, err := decodeCursor(in.Cursor)
		if err != nil || k.PK != in.PK {
			return ListPage{}, &core.ValidationError{Problems: []string{"list: invalid cursor"}}
		}
		q.StartAfter = &k
	}
	page, err := s.store.Query(ctx, s.dataTable, q)
	if err != nil {
		return ListPage{}, err
	}
	out := ListPage{Items: make([]core.Data, 0, len(page.Items))}
	for _, it := range page.Items {
		var d core.Data
		if err := core.UnmarshalItem(it, &d); err != nil {
			return ListPage{}, err
		}
		if err := s.resolveData(ctx, &d); err != nil {
			return ListPage{}, err
		}
		out.Items = append(out.Items, d)
	}
	if page.Next != nil {
		out.Cursor = encodeCursor(*page.Next)
	}
	return out, nil
}

func encodeCursor(k core.Key) string {
	b, _ := json.Marshal(k)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(c string) (core.Key, error) {
	var k core.Key
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		err = json.Unmarshal(b, &k)
	}
	return k, err
}

// GetCommand reads version v of the entity at key (pk, sk without
// version), or its latest version when v is core.VersionLatest, with
// offloaded attributes resolved. A missing version gives an error matching
// core.ErrNotFound.
func (s *Service) GetCommand(ctx context.Context, key core.Key, v int64) (*core.Command, error) {
	if err := s.authorize(ctx, key); err != nil {
		return nil, err
	}
	var cmd *core.Command
	var err error
	if v == core.VersionLatest {
		cmd, err = s.latest(ctx, key)
		if err == nil && cmd == nil {
			err = &core.NotFoundError{Kind: "command", Name: core.EntityID(key.PK, key.SK)}
		}
	} else {
		cmd, err = s.getCommand(ctx, key, v)
	}
	if err != nil {
		return nil, err
	}
	if err := s.resolveCommand(ctx, cmd); err != nil {
		return nil, err
	}
	return cmd, nil
}

// ListVersions returns every stored command version of the entity at key,
// oldest first, attributes resolved. (It takes the key rather than the id,
// because an id pk#sk cannot be split back when codes hold '#'.)
func (s *Service) ListVersions(ctx context.Context, key core.Key) ([]core.Command, error) {
	if err := s.authorize(ctx, key); err != nil {
		return nil, err
	}
	var out []core.Command
	err := s.queryAll(ctx, s.commandTable, key, func(it core.Item) error {
		var c core.Command
		if err := core.UnmarshalItem(it, &c); err != nil {
			return err
		}
		if err := s.resolveCommand(ctx, &c); err != nil {
			return err
		}
		out = append(out, c)
		return nil
	})
	return out, err
}

// History returns the history rows of the entity at key (the earlier data
// versions; sk = {sk}@{version}), oldest first, attributes resolved.
func (s *Service) History(ctx context.Context, key core.Key) ([]core.Data, error) {
	if err := s.authorize(ctx, key); err != nil {
		return nil, err
	}
	var out []core.Data
	err := s.queryAll(ctx, s.historyTable, key, func(it core.Item) error {
		var d core.Data
		if err := core.UnmarshalItem(it, &d); err != nil {
			return err
		}
		if err := s.resolveData(ctx, &d); err != nil {
			return err
		}
		out = append(out, d)
		return nil
	})
	return out, err
}

// queryAll visits every versioned row of the entity at key in table.
func (s *Service) queryAll(ctx context.Context, table string, key core.Key, visit func(core.Item) error) error {
	q := core.Query{PK: key.PK, Op: core.SKBeginsWith, SK: core.VersionPrefix(key.SK), ConsistentRead: true}
	for {
		page, err := s.store.Query(ctx, table, q)
		if err != nil {
			return fmt.Errorf("query %s: %w", table, err)
		}
		for _, it := range page.Items {
			if err := visit(it); err != nil {
				return err
			}
		}
		if page.Next == nil {
			return nil
		}
		q.StartAfter = page.Next
	}
}

// Resync runs Up of every data-sync handler for every data row of the
// partition pk, to rebuild a read model (for example after adding a
// handler). Each handler receives the command the row came from (pk/sk =
// cpk/csk, attributes resolved), rebuilt from the data row without reading
// the command table. It returns how many rows it replayed; a handler error
// stops it, naming the row.
func (s *Service) Resync(ctx context.Context, pk string) (int, error) {
	n := 0
	in := ListInput{PK: pk, Limit: 100}
	for {
		page, err := s.ListData(ctx, in)
		if err != nil {
			return n, err
		}
		for i := range page.Items {
			d := &page.Items[i]
			cmd := &core.Command{
				PK: d.CPK, SK: d.CSK, ID: d.ID, Code: d.Code, Name: d.Name, Version: d.Version,
				TenantCode: d.TenantCode, Type: d.Type, IsDeleted: d.IsDeleted, Seq: d.Seq, TTL: d.TTL,
				Attributes: d.Attributes, RequestID: d.RequestID, Source: d.Source, Status: core.StatusFinished,
				CreatedAt: d.CreatedAt, CreatedBy: d.CreatedBy, CreatedIP: d.CreatedIP,
				UpdatedAt: d.UpdatedAt, UpdatedBy: d.UpdatedBy, UpdatedIP: d.UpdatedIP,
			}
			if err := s.runHandlers(ctx, cmd, false); err != nil {
				return n, fmt.Errorf("resync %s/%s: %w", d.PK, d.SK, err)
			}
			n++
		}
		if page.Cursor == "" {
			return n, nil
		}
		in.Cursor = page.Cursor
	}
}
