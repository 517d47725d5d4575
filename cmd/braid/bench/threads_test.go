package bench

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/braid-go/braid/mp"
)

func TestMain(m *testing.M) {
	mp.Main() // the experiment's process models run this test binary as their workers
	ChildMain()
	goleak.VerifyTestMain(m)
}

// Both ways of the threads workload fetch every article, and nothing is
// left running.
func TestFetchEveryArticle(t *testing.T) {
	srv, err := StartArticleServer(time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if _, err := FetchGoroutines(context.Background(), srv.URL, 40, 8); err != nil {
		t.Fatal(err)
	}
	if _, err := FetchToThread(context.Background(), srv.URL, 40, 8); err != nil {
		t.Fatal(err)
	}
	if got := srv.Served.Load(); got != 80 {
		t.Fatalf("served %d articles, want 80", got)
	}
}

func TestArticleServerRejectsBadPath(t *testing.T) {
	srv, err := StartArticleServer(0)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c := articleClient(1)
	defer c.CloseIdleConnections()
	if err := fetchOne(context.Background(), c, srv.URL+"/article/x"); err == nil {
		t.Fatal("a bad article number was served")
	}
}
