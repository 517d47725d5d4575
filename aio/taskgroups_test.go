package aio_test

// Tests of task groups, written from CPython's
// Lib/test/test_asyncio/test_taskgroups.py. asyncio's
//
//	async with TaskGroup() as g: body
//
// is braid's aio.Group(ctx, func(ctx, g) error { body }); ExceptionGroup is
// *aio.GroupError, looked into with errors.Is and errors.As. All times are
// on a virtual clock.

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/braid-go/braid/aio"
)

// groupErrs returns the errors of a *GroupError, or fails the test.
func groupErrs(t *testing.T, err error) []error {
	t.Helper()
	var ge *aio.GroupError
	if !errors.As(err, &ge) {
		t.Fatalf("error %v (%T) is not a *aio.GroupError", err, err)
	}
	return ge.Errs
}

// Mirrors test_taskgroups.py: test_taskgroup_01: the group waits for its
// children; their results are read after it.
func TestTaskGroup01(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		var t1, t2 *aio.Task[int]
		err := aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
			var err error
			if t1, err = aio.GroupSpawn(g, sleeper(100*time.Millisecond, 42)); err != nil {
				return err
			}
			t2, err = aio.GroupSpawn(g, sleeper(200*time.Millisecond, 11))
			return err
		})
		if err != nil {
			t.Fatalf("Group: %v", err)
		}
		v1, e1 := t1.Result()
		v2, e2 := t2.Result()
		if v1 != 42 || v2 != 11 || e1 != nil || e2 != nil {
			t.Errorf("results %d %v, %d %v", v1, e1, v2, e2)
		}
		return nil
	})
}

// Mirrors test_taskgroups.py: test_taskgroup_02: a child spawned after the
// body waited is waited for too.
func TestTaskGroup02(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		start := now(ctx)
		var t1, t2 *aio.Task[int]
		err := aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
			t1, _ = aio.GroupSpawn(g, sleeper(100*time.Millisecond, 42))
			if err := aio.Sleep(ctx, 150*time.Millisecond); err != nil {
				return err
			}
			t2, _ = aio.GroupSpawn(g, sleeper(200*time.Millisecond, 11))
			return nil
		})
		if err != nil {
			t.Fatalf("Group: %v", err)
		}
		v1, _ := t1.Result()
		v2, _ := t2.Result()
		if v1 != 42 || v2 != 11 {
			t.Errorf("results %d %d", v1, v2)
		}
		if d := elapsed(ctx, start); d != 350*time.Millisecond {
			t.Errorf("loop time %v, want 350ms", d)
		}
		return nil
	})
}

// Mirrors test_taskgroups.py: test_taskgroup_03: cancelling one child
// explicitly is not a failure of the group.
func TestTaskGroup03(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		var t1, t2 *aio.Task[int]
		err := aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
			t1, _ = aio.GroupSpawn(g, sleeper(time.Second, 42))
			if err := aio.Sleep(ctx, 150*time.Millisecond); err != nil {
				return err
			}
			t1.Cancel()
			t2, _ = aio.GroupSpawn(g, sleeper(200*time.Millisecond, 11))
			return nil
		})
		if err != nil {
			t.Fatalf("Group: %v", err)
		}
		if !t1.Cancelled() {
			t.Error("t1 not cancelled")
		}
		if v, err := t2.Result(); v != 11 || err != nil {
			t.Errorf("t2: %d, %v", v, err)
		}
		return nil
	})
}

// Mirrors test_taskgroups.py: test_taskgroup_04: a failing child cancels
// its siblings; the group's error holds the failure, and the code after
// the group does not run.
func TestTaskGroup04(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		num := 0
		t2Cancel := false
		var t2 *aio.Task[int]
		runner := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			err := aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
				aio.GroupSpawn(g, failer[int](100*time.Millisecond, errZero))
				t2, _ = aio.GroupSpawn(g, func(ctx context.Context) (int, error) {
					if err := aio.Sleep(ctx, time.Second); err != nil {
						t2Cancel = true
						return 0, err
					}
					num++
					return 0, nil
				})
				return nil
			})
			if err != nil {
				return 0, err
			}
			num += 10
			return 0, nil
		})
		_, err := runner.Await(ctx)
		errs := groupErrs(t, err)
		if len(errs) != 1 || !errors.Is(errs[0], errZero) || !errors.Is(err, errZero) {
			t.Errorf("group errors %v", errs)
		}
		if num != 0 || !t2Cancel || !t2.Cancelled() {
			t.Errorf("num %d, t2 cancel seen %v, t2 cancelled %v", num, t2Cancel, t2.Cancelled())
		}
		return nil
	})
}

// Mirrors test_taskgroups.py: test_cancel_children_on_child_error: when a
// child fails, the other children and the body are cancelled, and every
// error is in the group's error.
func TestTaskGroupCancelChildrenOnChildError(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		num := 0
		t2Cancel, runnerCancel := false, false
		runner := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			err := aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
				for range 3 {
					aio.GroupSpawn(g, failer[int](100*time.Millisecond, errZero))
				}
				aio.GroupSpawn(g, func(ctx context.Context) (int, error) {
					if err := aio.Sleep(ctx, 5*time.Second); err != nil {
						t2Cancel = true
						return 0, err
					}
					num++
					return 0, nil
				})
				if err := aio.Sleep(ctx, 10*time.Second); err != nil {
					runnerCancel = true
					return err
				}
				return nil
			})
			if err != nil {
				return 0, err
			}
			num += 10
			return 0, nil
		})
		_, err := runner.Await(ctx)
		errs := groupErrs(t, err)
		if len(errs) == 0 {
			t.Error("no errors in the group error")
		}
		for _, e := range errs {
			if !errors.Is(e, errZero) {
				t.Errorf("unexpected error %v in the group", e)
			}
		}
		if num != 0 || !t2Cancel || !runnerCancel {
			t.Errorf("num %d, t2 cancelled %v, body cancelled %v", num, t2Cancel, runnerCancel)
		}
		return nil
	})
}

// Mirrors test_taskgroups.py: test_cancellation and test_taskgroup_07: a
// cancellation from outside reaches every child and the body, and comes
// out of the group as a cancellation, not as a group error.
func TestTaskGroupCancellation(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		num := 0
		foo := func(ctx context.Context) (int, error) {
			if err := aio.Sleep(ctx, 5*time.Second); err != nil {
				num++
				return 0, err
			}
			return 0, nil
		}
		r := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			return 0, aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
				for range 5 {
					aio.GroupSpawn(g, foo)
				}
				if err := aio.Sleep(ctx, 10*time.Second); err != nil {
					num += 10
					return err
				}
				return nil
			})
		})
		if err := aio.Sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
		if r.Done() {
			t.Fatal("runner done too early")
		}
		r.Cancel()
		_, err := r.Await(ctx)
		var ge *aio.GroupError
		if !isCancel(err) || errors.As(err, &ge) || !r.Cancelled() {
			t.Errorf("runner: %v (%T), cancelled %v; want a plain cancellation", err, err, r.Cancelled())
		}
		if num != 15 {
			t.Errorf("num %d, want 15", num)
		}
		return nil
	})
}

// Mirrors test_taskgroups.py: test_cancellation_in_body: children that
// would fail later do not turn an outside cancellation into a group
// error.
func TestTaskGroupCancellationInBody(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		r := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			return 0, aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
				for range 5 {
					aio.GroupSpawn(g, failer[int](200*time.Millisecond, errZero))
				}
				return aio.Sleep(ctx, 10*time.Second)
			})
		})
		if err := aio.Sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
		r.Cancel()
		_, err := r.Await(ctx)
		var ge *aio.GroupError
		if !isCancel(err) || errors.As(err, &ge) {
			t.Errorf("runner: %v, want a plain cancellation", err)
		}
		return nil
	})
}

// Mirrors test_taskgroups.py: test_taskgroup_09 and test_taskgroup_10: a
// failing body (after a wait, or at once) cancels the children and is in
// the group's error.
func TestTaskGroupBodyFails(t *testing.T) {
	for _, wait := range []bool{true, false} {
		mustRun(t, func(ctx context.Context) error {
			var t1, t2 *aio.Task[int]
			err := aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
				t1, _ = aio.GroupSpawn(g, sleeper(time.Second, 42))
				t2, _ = aio.GroupSpawn(g, sleeper(2*time.Second, 11))
				if wait {
					if err := aio.Sleep(ctx, 100*time.Millisecond); err != nil {
						return err
					}
				}
				return errZero
			})
			errs := groupErrs(t, err)
			if len(errs) != 1 || !errors.Is(errs[0], errZero) {
				t.Errorf("wait=%v: group errors %v", wait, errs)
			}
			if !t1.Cancelled() || !t2.Cancelled() {
				t.Errorf("wait=%v: children cancelled %v %v", wait, t1.Cancelled(), t2.Cancelled())
			}
			return nil
		})
	}
}

// Mirrors test_taskgroups.py: test_taskgroup_11 and test_taskgroup_12:
// an outside cancellation of nested groups comes out as a cancellation.
func TestTaskGroupNestedCancellation(t *testing.T) {
	for _, outerChild := range []bool{false, true} {
		mustRun(t, func(ctx context.Context) error {
			r := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
				return 0, aio.Group(ctx, func(ctx context.Context, g1 *aio.TaskGroup) error {
					if outerChild {
						aio.GroupSpawn(g1, sleeper(10*time.Second, 0))
					}
					return aio.Group(ctx, func(ctx context.Context, g2 *aio.TaskGroup) error {
						for range 5 {
							aio.GroupSpawn(g2, failer[int](200*time.Millisecond, errZero))
						}
						return aio.Sleep(ctx, 10*time.Second)
					})
				})
			})
			if err := aio.Sleep(ctx, 100*time.Millisecond); err != nil {
				return err
			}
			r.Cancel()
			_, err := r.Await(ctx)
			var ge *aio.GroupError
			if !isCancel(err) || errors.As(err, &ge) {
				t.Errorf("outer child %v: %v, want a plain cancellation", outerChild, err)
			}
			return nil
		})
	}
}

// Mirrors test_taskgroups.py: test_taskgroup_13: a failure in the outer
// group cancels the inner group; only the real failure is reported.
func TestTaskGroup13(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		err := aio.Group(ctx, func(ctx context.Context, g1 *aio.TaskGroup) error {
			aio.GroupSpawn(g1, failer[int](100*time.Millisecond, &myError{1}))
			return aio.Group(ctx, func(ctx context.Context, g2 *aio.TaskGroup) error {
				aio.GroupSpawn(g2, failer[int](10*time.Second, &myError{2}))
				return nil
			})
		})
		errs := groupErrs(t, err)
		var me *myError
		if len(errs) != 1 || !errors.As(errs[0], &me) || me.n != 1 {
			t.Errorf("group errors %v", errs)
		}
		return nil
	})
}

// Mirrors test_taskgroups.py: test_taskgroup_14: a failure in the inner
// group is a group error inside the outer group's error; errors.Is and
// errors.As see through both.
func TestTaskGroup14(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		err := aio.Group(ctx, func(ctx context.Context, g1 *aio.TaskGroup) error {
			aio.GroupSpawn(g1, failer[int](10*time.Second, errBoom))
			return aio.Group(ctx, func(ctx context.Context, g2 *aio.TaskGroup) error {
				aio.GroupSpawn(g2, failer[int](100*time.Millisecond, &myError{2}))
				return nil
			})
		})
		errs := groupErrs(t, err)
		if len(errs) != 1 {
			t.Fatalf("outer group errors %v", errs)
		}
		inner := groupErrs(t, errs[0])
		var me *myError
		if len(inner) != 1 || !errors.As(err, &me) || me.n != 2 || errors.Is(err, errBoom) {
			t.Errorf("inner group errors %v", inner)
		}
		return nil
	})
}

// Mirrors test_taskgroups.py: test_taskgroup_15 and test_taskgroup_16: a
// body that cleans up for a while after the outside cancellation; the
// child that would have failed was cancelled first; the result is a
// cancellation (also through a task awaiting the runner).
func TestTaskGroupBodySlowCleanup(t *testing.T) {
	for _, nested := range []bool{false, true} {
		mustRun(t, func(ctx context.Context) error {
			groupRunner := func(ctx context.Context) (int, error) {
				return 0, aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
					aio.GroupSpawn(g, failer[int](300*time.Millisecond, errZero))
					err := aio.Sleep(ctx, 10*time.Second)
					if isCancel(err) {
						aio.Sleep(context.WithoutCancel(ctx), 500*time.Millisecond)
					}
					return err
				})
			}
			runner := groupRunner
			if nested {
				runner = func(ctx context.Context) (int, error) {
					return aio.Spawn(ctx, groupRunner).Await(ctx)
				}
			}
			r := aio.Spawn(ctx, runner)
			if err := aio.Sleep(ctx, 100*time.Millisecond); err != nil {
				return err
			}
			r.Cancel()
			_, err := r.Await(ctx)
			var ge *aio.GroupError
			if !isCancel(err) || errors.As(err, &ge) {
				t.Errorf("nested %v: %v, want a plain cancellation", nested, err)
			}
			return nil
		})
	}
}

// Mirrors test_taskgroups.py: test_taskgroup_17 and test_taskgroup_22: a
// group with no children (or with children that would succeed) cancelled
// from outside ends in a cancellation.
func TestTaskGroup17And22(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		num := 0
		r := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			return 0, aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
				if err := aio.Sleep(ctx, 10*time.Second); err != nil {
					num += 10
					return err
				}
				return nil
			})
		})
		r2 := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			return 0, aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
				aio.GroupSpawn(g, sleeper(time.Second, 42))
				aio.GroupSpawn(g, sleeper(2*time.Second, 11))
				return nil
			})
		})
		if err := aio.Sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
		r.Cancel()
		r2.Cancel()
		if _, err := r.Await(ctx); !isCancel(err) {
			t.Errorf("r: %v", err)
		}
		if _, err := r2.Await(ctx); !isCancel(err) {
			t.Errorf("r2: %v", err)
		}
		if num != 10 {
			t.Errorf("num %d, want 10", num)
		}
		return nil
	})
}

// Mirrors test_taskgroups.py: test_taskgroup_18: a body that turns the
// outside cancellation into an error of its own makes a group error.
func TestTaskGroup18(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		num := 0
		r := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			return 0, aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
				if err := aio.Sleep(ctx, 10*time.Second); err != nil {
					num += 10
					return &myError{18}
				}
				return nil
			})
		})
		if err := aio.Sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
		r.Cancel()
		_, err := r.Await(ctx)
		errs := groupErrs(t, err)
		var me *myError
		if len(errs) != 1 || !errors.As(err, &me) {
			t.Errorf("group errors %v", errs)
		}
		if num != 10 {
			t.Errorf("num %d", num)
		}
		return nil
	})
}

// Mirrors test_taskgroups.py: test_taskgroup_19: the body's own error
// raised while it is cancelled by a failing child is reported with the
// child's.
func TestTaskGroup19(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		nested := func(ctx context.Context) error {
			aio.Sleep(ctx, 10*time.Second)
			return &myError{19}
		}
		err := aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
			aio.GroupSpawn(g, failer[int](100*time.Millisecond, errZero))
			return nested(ctx)
		})
		errs := groupErrs(t, err)
		var me *myError
		if len(errs) != 2 || !errors.Is(err, errZero) || !errors.As(err, &me) {
			t.Errorf("group errors %v, want errZero and *myError", errs)
		}
		return nil
	})
}

// Mirrors test_taskgroups.py: test_taskgroup_20a and test_taskgroup_21a
// (BaseException: in Go, panics): a panic in the body or in a child
// becomes a *PanicError in the group's error, with the other failure.
func TestTaskGroupPanics(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		err := aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
			aio.GroupSpawn(g, failer[int](100*time.Millisecond, errZero))
			aio.Sleep(ctx, 10*time.Second)
			panic("body panics while cancelled")
		})
		var pe *aio.PanicError
		if !errors.As(err, &pe) || !errors.Is(err, errZero) || len(groupErrs(t, err)) != 2 {
			t.Errorf("body panic: %v", err)
		}
		err = aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
			aio.GroupSpawn(g, func(ctx context.Context) (int, error) {
				aio.Sleep(ctx, 100*time.Millisecond)
				panic("child panics")
			})
			if err := aio.Sleep(ctx, 10*time.Second); err != nil {
				return errBoom
			}
			return nil
		})
		pe = nil
		if !errors.As(err, &pe) || pe.Value != "child panics" || !errors.Is(err, errBoom) {
			t.Errorf("child panic: %v", err)
		}
		return nil
	})
}

// Mirrors test_taskgroups.py: test_taskgroup_24: children may spawn
// children into the group; the group waits for all.
func TestTaskGroup24(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		start := now(ctx)
		var grandchildren []*aio.Task[int]
		err := aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
			_, err := aio.GroupSpawn(g, func(ctx context.Context) (int, error) {
				if err := aio.Sleep(ctx, 100*time.Millisecond); err != nil {
					return 0, err
				}
				for _, d := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond} {
					c, err := aio.GroupSpawn(g, sleeper(d, 1))
					if err != nil {
						return 0, err
					}
					grandchildren = append(grandchildren, c)
				}
				return 0, nil
			})
			return err
		})
		if err != nil {
			t.Fatalf("Group: %v", err)
		}
		if len(grandchildren) != 2 || !grandchildren[0].Done() || !grandchildren[1].Done() {
			t.Errorf("grandchildren %v", grandchildren)
		}
		if d := elapsed(ctx, start); d != 300*time.Millisecond {
			t.Errorf("loop time %v, want 300ms", d)
		}
		return nil
	})
}

// Mirrors test_taskgroups.py: test_taskgroup_25: children that spawn
// children without end (hydras) are stopped by a failing sibling.
func TestTaskGroup25(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		nhydras := 0
		var hydra func(g *aio.TaskGroup) func(context.Context) error
		hydra = func(g *aio.TaskGroup) func(context.Context) error {
			return func(ctx context.Context) error {
				nhydras++
				if err := aio.Sleep(ctx, 10*time.Millisecond); err != nil {
					return err
				}
				g.Go(hydra(g))
				g.Go(hydra(g))
				return nil
			}
		}
		err := aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
			g.Go(hydra(g))
			return g.Go(func(ctx context.Context) error {
				for nhydras < 10 {
					if err := aio.Sleep(ctx, 15*time.Millisecond); err != nil {
						return err
					}
				}
				return errZero
			})
		})
		errs := groupErrs(t, err)
		if len(errs) != 1 || !errors.Is(errs[0], errZero) {
			t.Errorf("group errors %v", errs)
		}
		if nhydras < 10 {
			t.Errorf("%d hydras", nhydras)
		}
		return nil
	})
}

// Mirrors test_taskgroups.py: test_taskgroup_task_name and test_name.
func TestTaskGroupTaskName(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		var name string
		return aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
			task, err := aio.GroupSpawn(g, func(ctx context.Context) (int, error) {
				name = aio.CurrentTask(ctx).Name()
				return 0, aio.Sleep(ctx, 0)
			}, aio.WithName("yolo"))
			if err != nil {
				return err
			}
			if task.Name() != "yolo" {
				t.Errorf("Name() = %q", task.Name())
			}
			if _, err := task.Await(ctx); err != nil {
				return err
			}
			if name != "yolo" {
				t.Errorf("CurrentTask().Name() = %q", name)
			}
			return g.Go(func(ctx context.Context) error { return nil }, aio.WithName("example name"))
		})
	})
}

// Mirrors test_taskgroups.py: test_taskgroup_no_create_task_after_failure:
// once a child failed, spawning into the group is an error.
func TestTaskGroupNoSpawnAfterFailure(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		var spawnErr error
		err := aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
			aio.GroupSpawn(g, failer[int](time.Millisecond, errZero))
			return g.Go(func(ctx context.Context) error {
				if err := aio.Sleep(ctx, time.Second); isCancel(err) {
					spawnErr = g.Go(func(ctx context.Context) error { return errBoom })
				}
				return nil
			})
		})
		errs := groupErrs(t, err)
		if len(errs) != 1 || !errors.Is(errs[0], errZero) {
			t.Errorf("group errors %v", errs)
		}
		if !errors.Is(spawnErr, aio.ErrGroupShuttingDown) {
			t.Errorf("spawn after failure: %v, want ErrGroupShuttingDown", spawnErr)
		}
		return nil
	})
}

// Mirrors test_taskgroups.py: test_taskgroup_finished and
// test_coro_closed_when_tg_closed: spawning into a group that has ended
// is an error, and the function is not run.
func TestTaskGroupFinished(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		var saved *aio.TaskGroup
		if err := aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
			saved = g
			return nil
		}); err != nil {
			return err
		}
		ran := false
		task, err := aio.GroupSpawn(saved, func(ctx context.Context) (int, error) { ran = true; return 0, nil })
		if !errors.Is(err, aio.ErrGroupFinished) || task != nil {
			t.Errorf("GroupSpawn after the group: %v, %v; want ErrGroupFinished", task, err)
		}
		if err := saved.Go(func(ctx context.Context) error { ran = true; return nil }); !errors.Is(err, aio.ErrGroupFinished) {
			t.Errorf("Go after the group: %v", err)
		}
		if err := aio.Sleep(ctx, 0); err != nil {
			return err
		}
		if ran {
			t.Error("a function spawned into a finished group ran")
		}
		return nil
	})
}

// Mirrors test_taskgroups.py: test_taskgroup_without_parent_task: a group
// belongs to a task; from a plain goroutine or a loop callback it is an
// error and the body does not run.
func TestTaskGroupWithoutParentTask(t *testing.T) {
	if err := aio.Group(context.Background(), func(context.Context, *aio.TaskGroup) error { return nil }); !errors.Is(err, aio.ErrNoLoop) {
		t.Errorf("Group without a loop: %v, want ErrNoLoop", err)
	}
	mustRun(t, func(ctx context.Context) error {
		l := aio.CurrentLoop(ctx)
		ran := false
		body := func(context.Context, *aio.TaskGroup) error { ran = true; return nil }
		inCallback := aio.NewFuture[error](ctx)
		l.CallSoon(func() { inCallback.SetResult(aio.Group(l.Context(), body)) })
		if err, _ := inCallback.Await(ctx); !errors.Is(err, aio.ErrInCallback) {
			t.Errorf("Group in a callback: %v, want ErrInCallback", err)
		}
		inGoroutine := aio.NewFuture[error](ctx)
		go func() {
			err := aio.Group(l.Context(), body)
			l.CallSoonThreadsafe(func() { inGoroutine.SetResult(err) })
		}()
		if err, _ := inGoroutine.Await(ctx); err == nil {
			t.Error("Group in a goroutine: nil error")
		}
		if ran {
			t.Error("the body ran")
		}
		return nil
	})
}

// Mirrors test_taskgroups.py: test_cancelling_level_preserved and
// test_cancellation_does_not_leak_out_of_tg: a failed group does not leave
// its task cancelled.
func TestTaskGroupCancellationDoesNotLeak(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		err := aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
			return g.Go(func(ctx context.Context) error { return errBoom })
		})
		if !errors.Is(err, errBoom) {
			t.Errorf("Group: %v", err)
		}
		if ctx.Err() != nil || aio.CurrentTask(ctx).(interface{ Cancelling() bool }).Cancelling() {
			t.Error("the task is cancelled after the group")
		}
		if err := aio.Sleep(ctx, 0); err != nil {
			t.Errorf("Sleep after the group: %v", err)
		}
		return nil
	})
}

// Mirrors test_taskgroups.py: test_nested_groups_both_cancelled: an inner
// group's failure is seen by the outer body, which is itself cancelled by
// the outer group's failing child; each group reports its own error.
func TestTaskGroupNestedBothCancelled(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		errRuntime := errors.New("runtime error")
		errValue := errors.New("value error")
		outerErr := aio.Group(ctx, func(ctx context.Context, outer *aio.TaskGroup) error {
			innerErr := aio.Group(ctx, func(ctx context.Context, inner *aio.TaskGroup) error {
				inner.Go(func(ctx context.Context) error { aio.Sleep(ctx, 0); return errRuntime })
				outer.Go(func(ctx context.Context) error { aio.Sleep(ctx, 0); return errValue })
				return nil
			})
			if !errors.Is(innerErr, errRuntime) || errors.Is(innerErr, errValue) {
				t.Errorf("inner group: %v, want the runtime error only", innerErr)
			}
			if ctx.Err() == nil {
				t.Error("the outer body is not cancelled after the outer child failed")
			}
			return nil
		})
		if !errors.Is(outerErr, errValue) || errors.Is(outerErr, errRuntime) {
			t.Errorf("outer group: %v, want the value error only", outerErr)
		}
		if ctx.Err() != nil {
			t.Error("the task is cancelled after the groups")
		}
		return nil
	})
}

// Mirrors test_taskgroups.py: test_error_and_cancel: a child fails and
// the task is cancelled from outside at about the same time: the group
// reports the failure, and the cancellation still reaches the task's
// next wait.
func TestTaskGroupErrorAndCancel(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		errRuntime := errors.New("runtime error")
		event := aio.NewFuture[int](ctx)
		sawGroupErr := false
		inner := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			err := aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
				g.Go(func(ctx context.Context) error {
					event.SetResult(0)
					aio.Sleep(ctx, 0)
					return errRuntime
				})
				if err := aio.Sleep(ctx, time.Second); err == nil {
					t.Error("the sleep in the group was not cancelled")
				}
				return nil
			})
			sawGroupErr = errors.Is(err, errRuntime)
			if err := aio.Sleep(ctx, time.Second); err != nil {
				return 0, err
			}
			t.Error("the sleep after the group was not cancelled")
			return 0, nil
		})
		if _, err := event.Await(ctx); err != nil {
			return err
		}
		inner.Cancel()
		if _, err := inner.Await(ctx); !isCancel(err) || !inner.Cancelled() {
			t.Errorf("inner: %v, cancelled %v", err, inner.Cancelled())
		}
		if !sawGroupErr {
			t.Error("the group did not report the child's failure")
		}
		return nil
	})
}

// Mirrors test_taskgroups.py: test_cancels_task_if_created_during_creation
// (gh-128550): a child that spawns a failing grandchild is cancelled at
// its next wait.
func TestTaskGroupCancelsTaskCreatedDuringCreation(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		ran := false
		err := aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
			return g.Go(func(ctx context.Context) error {
				g.Go(func(ctx context.Context) error { return &myError{3} })
				e1 := aio.Sleep(ctx, 0)
				e2 := aio.Sleep(ctx, 0)
				if !isCancel(e1) && !isCancel(e2) {
					t.Error("the second task was not cancelled")
				}
				ran = true
				return nil
			})
		})
		var me *myError
		if !errors.As(err, &me) || !ran {
			t.Errorf("Group: %v, ran %v", err, ran)
		}
		return nil
	})
}

// Mirrors test_taskgroups.py: test_taskgroup_context_manager_exit_raises
// and the errors.Is/errors.As requirement: every non-cancellation error of
// the group, of any kind, is found by errors.Is and errors.As, and
// cancelled siblings add nothing.
func TestTaskGroupErrorsIsAs(t *testing.T) {
	mustRun(t, func(ctx context.Context) error {
		err := aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
			g.Go(func(ctx context.Context) error { return aio.Sleep(ctx, time.Hour) })
			g.Go(func(ctx context.Context) error { return errBoom })
			if err := aio.Sleep(ctx, time.Hour); err != nil {
				return &myError{7}
			}
			return nil
		})
		errs := groupErrs(t, err)
		var me *myError
		if len(errs) != 2 || !errors.Is(err, errBoom) || !errors.As(err, &me) || me.n != 7 {
			t.Errorf("group errors %v", errs)
		}
		if errors.Is(err, context.Canceled) {
			t.Error("a cancelled sibling's cancellation is in the group error")
		}
		if msg := err.Error(); msg == "" {
			t.Error("empty message")
		}
		return nil
	})
}
