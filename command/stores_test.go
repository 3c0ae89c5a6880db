package command_test

import (
	"testing"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/memory"
)

// newStores returns fresh in-memory adapters.
func newStores(t testing.TB) (core.ItemStore, core.ObjectStore) {
	t.Helper()
	return memory.NewStore(), memory.NewObjects(memory.StrictBuckets())
}

// provision creates the module's tables and the bucket.
func provision(t testing.TB, store core.ItemStore, objects core.ObjectStore, cfg core.Config, module string) {
	t.Helper()
	st := store.(*memory.Store)
	for _, name := range []string{cfg.CommandTable(module), cfg.DataTable(module), cfg.HistoryTable(module)} {
		if err := st.CreateTable(name); err != nil {
			t.Fatal(err)
		}
	}
	if err := objects.(*memory.Objects).CreateBucket(cfg.Bucket()); err != nil {
		t.Fatal(err)
	}
}
