package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stepcqrs/stepcqrs/core"
)

// OrderRow is one row of the orders read model.
type OrderRow struct {
	ID         string
	Code       string
	Name       string
	Version    int64
	Deleted    bool
	Status     string
	Customer   string
	Total      string
	Attributes map[string]any
}

// ReadModel is the SQL-like read model the "sql" data-sync handler
// maintains: one row per order, at its latest applied version.
type ReadModel interface {
	// Upsert writes row unless the stored row has the same or a later
	// version (handlers run at least once, maybe out of order).
	Upsert(ctx context.Context, row OrderRow) error
	// Remove deletes the row of id if it is at version.
	Remove(ctx context.Context, id string, version int64) error
	// All returns every row, by id.
	All(ctx context.Context) ([]OrderRow, error)
	// Reset removes every row (the demo starts from an empty store).
	Reset(ctx context.Context) error
	// Kind names the backend ("postgres" or "memory").
	Kind() string
	// Close releases the backend.
	Close()
}

// rowOf builds the read-model row of a command.
func rowOf(cmd *core.Command) OrderRow {
	str := func(k string) string {
		if v, ok := cmd.Attributes[k]; ok && v != nil {
			return fmt.Sprint(v)
		}
		return ""
	}
	return OrderRow{ID: cmd.ID, Code: cmd.Code, Name: cmd.Name, Version: cmd.Version, Deleted: cmd.IsDeleted,
		Status: str("status"), Customer: str("customer"), Total: str("total"), Attributes: cmd.Attributes}
}

// memoryReadModel is the in-memory ReadModel used without DATABASE_URL.
type memoryReadModel struct {
	mu   sync.Mutex
	rows map[string]OrderRow
}

func newMemoryReadModel() *memoryReadModel { return &memoryReadModel{rows: map[string]OrderRow{}} }

// Upsert implements ReadModel.
func (m *memoryReadModel) Upsert(_ context.Context, row OrderRow) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.rows[row.ID]; ok && old.Version >= row.Version {
		return nil
	}
	m.rows[row.ID] = row
	return nil
}

// Remove implements ReadModel.
func (m *memoryReadModel) Remove(_ context.Context, id string, version int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.rows[id]; ok && old.Version == version {
		delete(m.rows, id)
	}
	return nil
}

// All implements ReadModel.
func (m *memoryReadModel) All(context.Context) ([]OrderRow, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]OrderRow, 0, len(m.rows))
	for _, r := range m.rows {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Reset implements ReadModel.
func (m *memoryReadModel) Reset(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.rows)
	return nil
}

// Kind implements ReadModel.
func (m *memoryReadModel) Kind() string { return "memory" }

// Close implements ReadModel.
func (m *memoryReadModel) Close() {}

// pgReadModel is the PostgreSQL ReadModel (pgx), table orders_read.
type pgReadModel struct {
	pool  *pgxpool.Pool
	table string
}

// newPGReadModel connects to url and creates the table if needed.
func newPGReadModel(ctx context.Context, url, table string) (*pgReadModel, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	_, err = pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+table+` (
		id text PRIMARY KEY,
		code text NOT NULL,
		name text NOT NULL,
		version bigint NOT NULL,
		deleted boolean NOT NULL,
		status text NOT NULL,
		customer text NOT NULL,
		total text NOT NULL,
		attributes jsonb NOT NULL)`)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: create table: %w", err)
	}
	return &pgReadModel{pool: pool, table: table}, nil
}

// Upsert implements ReadModel.
func (p *pgReadModel) Upsert(ctx context.Context, r OrderRow) error {
	attrs, err := json.Marshal(r.Attributes)
	if err != nil {
		return err
	}
	_, err = p.pool.Exec(ctx, `INSERT INTO `+p.table+` AS t (id, code, name, version, deleted, status, customer, total, attributes)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (id) DO UPDATE SET code = EXCLUDED.code, name = EXCLUDED.name, version = EXCLUDED.version,
			deleted = EXCLUDED.deleted, status = EXCLUDED.status, customer = EXCLUDED.customer,
			total = EXCLUDED.total, attributes = EXCLUDED.attributes
		WHERE t.version < EXCLUDED.version`,
		r.ID, r.Code, r.Name, r.Version, r.Deleted, r.Status, r.Customer, r.Total, attrs)
	return err
}

// Remove implements ReadModel.
func (p *pgReadModel) Remove(ctx context.Context, id string, version int64) error {
	_, err := p.pool.Exec(ctx, `DELETE FROM `+p.table+` WHERE id = $1 AND version = $2`, id, version)
	return err
}

// All implements ReadModel.
func (p *pgReadModel) All(ctx context.Context) ([]OrderRow, error) {
	rows, err := p.pool.Query(ctx, `SELECT id, code, name, version, deleted, status, customer, total, attributes FROM `+p.table+` ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []OrderRow
	for rows.Next() {
		var r OrderRow
		var attrs []byte
		if err := rows.Scan(&r.ID, &r.Code, &r.Name, &r.Version, &r.Deleted, &r.Status, &r.Customer, &r.Total, &attrs); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(attrs, &r.Attributes); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Reset implements ReadModel.
func (p *pgReadModel) Reset(ctx context.Context) error {
	_, err := p.pool.Exec(ctx, `TRUNCATE `+p.table)
	return err
}

// Kind implements ReadModel.
func (p *pgReadModel) Kind() string { return "postgres" }

// Close implements ReadModel.
func (p *pgReadModel) Close() { p.pool.Close() }

// projection is the "sql" data-sync handler of the order module.
type projection struct{ rm ReadModel }

// Name implements command.SyncHandler.
func (projection) Name() string { return "sql" }

// Up implements command.SyncHandler: the row follows the command.
func (p projection) Up(ctx context.Context, cmd *core.Command) error {
	return p.rm.Upsert(ctx, rowOf(cmd))
}

// Down implements command.SyncHandler: the command's row goes away.
func (p projection) Down(ctx context.Context, cmd *core.Command) error {
	return p.rm.Remove(ctx, cmd.ID, cmd.Version)
}
