// Command thumbnails resizes a directory of images on a process pool: the
// articles' thumbnail batch, Python's
//
//	def make_thumbnail(path):
//	    with Image.open(path) as im:
//	        im.thumbnail((200, 200))
//	        im.save(out / path.name)
//	with ProcessPoolExecutor() as ex:
//	    futures = {ex.submit(make_thumbnail, p): p for p in paths}
//	    for f in as_completed(futures):
//	        try: f.result()
//	        except Exception as e: print("failed:", futures[f], e)
//
// with what Python's pool lacks: a time limit per image (pebble's
// pool.schedule(make_thumbnail, args=(p,), timeout=5)), counted from when a
// worker starts the image, not from when the batch was submitted, and
// enforced by killing the worker that overruns it (a new one takes its
// place); and a corrupt image that fails alone while the others go on. It
// decodes with the standard library (image/jpeg, image/png, image/gif),
// scales with a box filter and writes JPEGs. It times the batch
// sequentially, on the goroutine pool (the same registered function
// in-process; the time limit is then cooperative: the resize checks its
// context) and on the process pool.
//
// braid: mp.Register, mp.Main, mp.NewPool, Func.WithRunTimeout and
// Func.Submit for the whole batch at once, futures.NewThreadPool,
// *mp.KilledError, mp.ErrRunTimeout.
//
// Without -in it generates a demo set in a temporary directory (-demo
// images, one of them corrupt) and removes it afterwards.
//
//	go run ./examples/thumbnails -demo 48 -demo-size 3000x2000
//	go run ./examples/thumbnails -in ~/Pictures -out /tmp/thumbs -size 320
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	_ "image/gif" // decoders register themselves with image.Decode
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/braid-go/braid/futures"
	"github.com/braid-go/braid/mp"
)

// Job is one image to shrink: the paths travel, not the pixels; each
// worker reads and writes its files itself.
type Job struct {
	In, Out string
	Size    int // the thumbnail fits in Size x Size
}

// Thumb is what was made.
type Thumb struct {
	W, H, TW, TH int // the image's and the thumbnail's size
}

// MakeThumbnail is registered at package level, so that the worker
// processes have it too.
var MakeThumbnail = mp.Register("examples.thumbnail", makeThumbnail)

func makeThumbnail(ctx context.Context, j Job) (Thumb, error) {
	f, err := os.Open(j.In)
	if err != nil {
		return Thumb{}, err
	}
	defer f.Close()
	src, _, err := image.Decode(f)
	if err != nil {
		return Thumb{}, fmt.Errorf("decoding: %w", err)
	}
	dst, err := shrink(ctx, src, j.Size)
	if err != nil {
		return Thumb{}, err
	}
	out, err := os.Create(j.Out)
	if err != nil {
		return Thumb{}, err
	}
	if err := jpeg.Encode(out, dst, &jpeg.Options{Quality: 85}); err != nil {
		out.Close()
		return Thumb{}, err
	}
	b, d := src.Bounds(), dst.Bounds()
	return Thumb{W: b.Dx(), H: b.Dy(), TW: d.Dx(), TH: d.Dy()}, out.Close()
}

// shrink scales src to fit in size x size with a box filter (each output
// pixel is the mean of the input pixels it covers). It checks ctx once per
// output row.
func shrink(ctx context.Context, src image.Image, size int) (*image.RGBA, error) {
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	if w == 0 || h == 0 {
		return nil, errors.New("the image is empty")
	}
	tw, th := w, h
	if w > size || h > size {
		if w >= h {
			tw, th = size, max(1, h*size/w)
		} else {
			tw, th = max(1, w*size/h), size
		}
	}
	// One conversion to RGBA (draw has fast paths for the decoders'
	// types), then plain arithmetic on its bytes.
	rgba := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(rgba, rgba.Bounds(), src, b.Min, draw.Src)
	dst := image.NewRGBA(image.Rect(0, 0, tw, th))
	for ty := range th {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		y0, y1 := ty*h/th, max((ty+1)*h/th, ty*h/th+1)
		for tx := range tw {
			x0, x1 := tx*w/tw, max((tx+1)*w/tw, tx*w/tw+1)
			var r, g, bl, a, n int
			for y := y0; y < y1; y++ {
				row := rgba.Pix[y*rgba.Stride:]
				for x := x0; x < x1; x++ {
					p := row[4*x : 4*x+4]
					r, g, bl, a = r+int(p[0]), g+int(p[1]), bl+int(p[2]), a+int(p[3])
					n++
				}
			}
			dst.SetRGBA(tx, ty, color.RGBA{uint8(r / n), uint8(g / n), uint8(bl / n), uint8(a / n)})
		}
	}
	return dst, nil
}

func main() {
	mp.Main() // in a worker process: serve the pool, never return
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("thumbnails", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "directory of images (.jpg, .jpeg, .png, .gif); empty: generate a demo set")
	out := fs.String("out", "", "directory for the thumbnails (created; empty: a temporary one, removed)")
	size := fs.Int("size", 200, "thumbnails fit in size x size")
	limit := fs.Duration("timeout", 5*time.Second, "time limit of one image, from when a worker starts it")
	workers := fs.Int("workers", runtime.NumCPU(), "goroutines of the goroutine pool, processes of the process pool")
	demo := fs.Int("demo", 24, "images in the demo set")
	demoSize := fs.String("demo-size", "1600x1200", "size of the demo images")
	models := fs.String("models", "sequential,goroutines,processes", "which to run, comma-separated")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var dw, dh int
	if _, err := fmt.Sscanf(*demoSize, "%dx%d", &dw, &dh); err != nil || dw < 1 || dh < 1 {
		fmt.Fprintf(stderr, "thumbnails: -demo-size %q: want WIDTHxHEIGHT, like 1600x1200\n", *demoSize)
		return 2
	}
	enabled := map[string]bool{}
	for _, m := range strings.Split(*models, ",") {
		if m != "sequential" && m != "goroutines" && m != "processes" {
			fmt.Fprintf(stderr, "thumbnails: -models: unknown model %q (want sequential, goroutines or processes)\n", m)
			return 2
		}
		enabled[m] = true
	}
	if *size < 1 || *limit <= 0 || *workers < 1 || *demo < 1 || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "thumbnails: -size, -workers and -demo must be >= 1, -timeout > 0, and there are no arguments")
		return 2
	}
	if *in == "" {
		dir, err := os.MkdirTemp("", "thumbnails-demo-")
		if err != nil {
			fmt.Fprintln(stderr, "thumbnails:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		if err := generate(dir, *demo, dw, dh); err != nil {
			fmt.Fprintln(stderr, "thumbnails: generating the demo set:", err)
			return 1
		}
		*in = dir
	}
	if *out == "" {
		dir, err := os.MkdirTemp("", "thumbnails-out-")
		if err != nil {
			fmt.Fprintln(stderr, "thumbnails:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		*out = dir
	} else if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(stderr, "thumbnails:", err)
		return 1
	}
	jobs, err := listJobs(*in, *out, *size)
	if err != nil {
		fmt.Fprintln(stderr, "thumbnails:", err)
		return 1
	}
	fmt.Fprintf(stdout, "%d images, thumbnails of %dpx, time limit %v per image, %d workers, %d CPUs\n",
		len(jobs), *size, *limit, *workers, runtime.NumCPU())

	threads := futures.NewThreadPool(futures.WithMaxWorkers(*workers))
	defer threads.Shutdown(ctx)
	procs, err := mp.NewPool(mp.WithMaxWorkers(*workers))
	if err != nil {
		fmt.Fprintln(stderr, "thumbnails:", err)
		return 1
	}
	defer procs.Shutdown(ctx)

	var base time.Duration
	for _, m := range []struct {
		model, name string
		ex          futures.Executor // nil: sequential, in this goroutine
	}{{"sequential", "sequential", nil}, {"goroutines", "goroutine pool", threads}, {"processes", "process pool", procs}} {
		if !enabled[m.model] {
			continue
		}
		start := time.Now()
		errs := batch(ctx, m.ex, jobs, *limit)
		elapsed := time.Since(start)
		if base == 0 {
			base = elapsed
		}
		failed := 0
		for _, err := range errs {
			if err != nil {
				failed++
			}
		}
		fmt.Fprintf(stdout, "%-15s %3d ok, %d failed %9v  %.1fx\n", m.name, len(jobs)-failed, failed,
			elapsed.Round(time.Millisecond), base.Seconds()/elapsed.Seconds())
		for i, err := range errs {
			if err != nil {
				fmt.Fprintf(stdout, "  %s: %v\n", filepath.Base(jobs[i].In), describe(err))
			}
		}
	}
	return 0
}

// batch makes every thumbnail, each within its time limit, and returns
// each image's error. With an executor, every image is submitted at once:
// the run timeout counts from when a worker starts the image, so the
// images waiting in the queue do not use up their time.
func batch(ctx context.Context, ex futures.Executor, jobs []Job, limit time.Duration) []error {
	errs := make([]error, len(jobs))
	if ex == nil {
		for i, j := range jobs {
			ctx, cancel := context.WithTimeout(ctx, limit)
			_, errs[i] = makeThumbnail(ctx, j)
			cancel()
		}
		return errs
	}
	thumb := MakeThumbnail.WithRunTimeout(limit)
	fs := make([]*futures.Future[Thumb], len(jobs))
	for i, j := range jobs {
		fs[i], errs[i] = thumb.Submit(ctx, ex, j)
	}
	for i, f := range fs {
		if f != nil {
			_, errs[i] = f.Result(ctx)
		}
	}
	return errs
}

// describe names what stopped an image.
func describe(err error) string {
	var killed *mp.KilledError
	switch {
	case errors.As(err, &killed):
		return "over its time limit, its worker was killed: " + err.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return "over its time limit: " + err.Error()
	}
	return err.Error()
}

// listJobs lists the images of dir, by name.
func listJobs(in, out string, size int) ([]Job, error) {
	entries, err := os.ReadDir(in)
	if err != nil {
		return nil, err
	}
	var jobs []Job
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || !slices.Contains([]string{".jpg", ".jpeg", ".png", ".gif"}, ext) {
			continue
		}
		base := strings.TrimSuffix(e.Name(), filepath.Ext(e.Name()))
		jobs = append(jobs, Job{In: filepath.Join(in, e.Name()), Out: filepath.Join(out, base+"_thumb.jpg"), Size: size})
	}
	if len(jobs) == 0 {
		return nil, fmt.Errorf("no .jpg, .jpeg, .png or .gif files in %s", in)
	}
	return jobs, nil
}

// generate writes n images of w x h to dir, JPEGs and PNGs, and one
// corrupt JPEG among them.
func generate(dir string, n, w, h int) error {
	for i := range n - 1 {
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				img.SetRGBA(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8((x ^ y) + i*40), 255})
			}
		}
		name, enc := fmt.Sprintf("photo%02d.jpg", i), func(w io.Writer) error { return jpeg.Encode(w, img, nil) }
		if i%3 == 2 {
			name, enc = fmt.Sprintf("drawing%02d.png", i), func(w io.Writer) error { return png.Encode(w, img) }
		}
		if err := writeFile(filepath.Join(dir, name), enc); err != nil {
			return err
		}
	}
	// A JPEG cut short: its header is fine, its data ends.
	var buf strings.Builder
	jpeg.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h)), nil)
	return os.WriteFile(filepath.Join(dir, "corrupt.jpg"), []byte(buf.String()[:buf.Len()/2]), 0o644)
}

func writeFile(path string, enc func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := enc(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
