// opsbot console: draws the dashboard's charts with the vendored ECharts.
// Everything else is server-rendered; htmx does the live parts.
(function () {
  'use strict';
  var charts = [];

  function bar(el, labels, series) {
    var c = window.echarts.init(el);
    c.setOption({
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      grid: { left: 40, right: 12, top: 36, bottom: 70 },
      xAxis: { type: 'category', data: labels, axisLabel: { interval: 0, rotate: labels.length > 6 ? 35 : 0 } },
      yAxis: { type: 'value', minInterval: 1 },
      series: series
    });
    charts.push(c);
  }

  function draw(data) {
    var t = data.Trend, s = data.Systems, e = data.Engineers;
    bar(document.getElementById('chart-trend'), t.Labels || [], [
      { name: '新报', type: 'line', data: t.Created || [] },
      { name: '已解决', type: 'line', data: t.Resolved || [] },
      { name: '超时', type: 'line', data: t.Breached || [], itemStyle: { color: '#c0262d' } }
    ]);
    bar(document.getElementById('chart-systems'), s.Labels || [], [
      { name: '工单', type: 'bar', data: s.Created || [] },
      { name: '超时', type: 'bar', data: s.Breached || [], itemStyle: { color: '#c0262d' } }
    ]);
    bar(document.getElementById('chart-engineers'), e.Labels || [], [
      { name: '已解决', type: 'bar', data: e.Resolved || [] },
      { name: '按时解决', type: 'bar', data: e.OnTime || [], itemStyle: { color: '#18794e' } }
    ]);
  }

  document.addEventListener('DOMContentLoaded', function () {
    var el = document.getElementById('charts');
    if (!el || !window.echarts) { return; }
    draw(JSON.parse(el.getAttribute('data-charts')));
    window.addEventListener('resize', function () {
      charts.forEach(function (c) { c.resize(); });
    });
  });
}());
