package main

import (
	"fmt"
	"math"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// barSeries is one coloured series of a grouped bar chart: one value per group.
type barSeries struct {
	name   string
	values []float64
}

// lineSeries is one line of a line chart.
type lineSeries struct {
	name   string
	xs, ys []float64
}

// barChart writes a grouped bar chart to dir/file.
func barChart(dir, file, title, ylabel string, groups []string, series []barSeries) error {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	w := vg.Points(math.Min(40, 360/float64(len(groups)*len(series)+1)))
	lo, hi := 0.0, 0.0
	for i, s := range series {
		vals := make(plotter.Values, len(s.values))
		for j, v := range s.values {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				vals[j] = v
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
		bars, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return fmt.Errorf("plot %s: %w", file, err)
		}
		bars.LineStyle.Width = 0
		bars.Color = plotutil.Color(colorOf(s.name, i))
		bars.Offset = w * vg.Length(float64(i)-float64(len(series)-1)/2)
		p.Add(bars)
		p.Legend.Add(s.name, bars)
	}
	// Leave room above the bars for the legend.
	p.Y.Min, p.Y.Max = lo*1.1, hi*(1.15+0.07*float64(len(series)))
	p.Legend.Top = true
	p.NominalX(groups...)
	return save(p, dir, file)
}

// lineChart writes a line chart with points to dir/file; logX and logY pick log axes
// (points that are not positive are left out of a log axis).
func lineChart(dir, file, title, xlabel, ylabel string, logX, logY bool, series []lineSeries) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	if logX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	if logY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	} else {
		p.Y.Min = 0
	}
	hi := 0.0
	for i, s := range series {
		var pts plotter.XYs
		for j := range s.xs {
			x, y := s.xs[j], s.ys[j]
			if math.IsNaN(y) || math.IsInf(y, 0) || (logX && x <= 0) || (logY && y <= 0) {
				continue
			}
			pts = append(pts, plotter.XY{X: x, Y: y})
			hi = math.Max(hi, y)
		}
		if len(pts) == 0 {
			continue
		}
		l, sc, err := plotter.NewLinePoints(pts)
		if err != nil {
			return fmt.Errorf("plot %s: %w", file, err)
		}
		c := colorOf(s.name, i)
		l.Color = plotutil.Color(c)
		l.Dashes = plotutil.Dashes(i)
		sc.Color = plotutil.Color(c)
		sc.Shape = plotutil.Shape(i)
		p.Add(l, sc)
		p.Legend.Add(s.name, l, sc)
	}
	// Leave room above the lines for the legend.
	if logY {
		p.Y.Max = hi * 8
	} else {
		p.Y.Max = hi * (1.15 + 0.07*float64(len(series)))
	}
	p.Legend.Top = true
	p.Legend.Left = true
	return save(p, dir, file)
}

func save(p *plot.Plot, dir, file string) error {
	if err := p.Save(8*vg.Inch, 4.5*vg.Inch, filepath.Join(dir, file)); err != nil {
		return fmt.Errorf("plot %s: %w", file, err)
	}
	return nil
}

// seriesColors gives each path the same colour in every plot.
var seriesColors = map[string]int{
	pathDirect: 0, pathWeft: 1, pathWeft2: 2, pathNginx: 3, pathHAProxy: 4,
	"weft ×2": 1, "weft ×4": 2, "nginx ×2": 3, "nginx ×4": 4,
}

func colorOf(name string, i int) int {
	if c, ok := seriesColors[name]; ok {
		return c
	}
	return i
}
