// Charts drawn as SVG by hand: bars with their numbers written on them (colour is never the
// only signal), a title for screen readers, and the figures as a table beside each chart.
import { h, table } from './ui.js';

const SVG = 'http://www.w3.org/2000/svg';

function svgElement(tag, attributes, text) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

// Vertical bars: one per label (hours, weekdays, ratings).
export function columnChart(title, labels, values, { format = String, id } = {}) {
  const width = 320;
  const height = 160;
  const top = 14;
  const bottom = 18;
  const max = Math.max(1, ...values);
  const slot = width / labels.length;
  const svg = svgElement('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `${title}: ${labels.map((l, i) => `${l} ${format(values[i])}`).join(', ')}` });
  svg.append(svgElement('line', { class: 'axis', x1: 0, x2: width, y1: height - bottom, y2: height - bottom }));
  labels.forEach((label, index) => {
    const barHeight = ((height - top - bottom) * values[index]) / max;
    const x = index * slot + slot * 0.15;
    const y = height - bottom - barHeight;
    const bar = svgElement('rect', { class: 'bar', x, y, width: slot * 0.7, height: barHeight });
    bar.append(svgElement('title', {}, `${label}: ${format(values[index])}`));
    svg.append(bar);
    if (labels.length <= 12 || values[index] === max) {
      svg.append(svgElement('text', { x: x + slot * 0.35, y: y - 3, 'text-anchor': 'middle' }, format(values[index])));
    }
    if (labels.length <= 12 || index % 3 === 0) {
      svg.append(svgElement('text', { x: x + slot * 0.35, y: height - 5, 'text-anchor': 'middle' }, label));
    }
  });
  return figure(title, svg, labels, values, format, id);
}

// Horizontal bars: one per named thing (reasons, agents, breaches).
export function barChart(title, labels, values, { format = String, id } = {}) {
  const width = 320;
  const row = 22;
  const labelWidth = 120;
  const height = Math.max(row, labels.length * row) + 4;
  const max = Math.max(1, ...values);
  const svg = svgElement('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `${title}: ${labels.map((l, i) => `${l} ${format(values[i])}`).join(', ') || 'none'}` });
  if (!labels.length) svg.append(svgElement('text', { x: 4, y: 16 }, 'Nothing in this period.'));
  labels.forEach((label, index) => {
    const y = index * row + 4;
    const barWidth = ((width - labelWidth - 40) * values[index]) / max;
    svg.append(svgElement('text', { x: labelWidth - 6, y: y + 13, 'text-anchor': 'end' }, label.length > 18 ? `${label.slice(0, 17)}…` : label));
    const bar = svgElement('rect', { class: 'bar', x: labelWidth, y, width: barWidth, height: row - 6 });
    bar.append(svgElement('title', {}, `${label}: ${format(values[index])}`));
    svg.append(bar);
    svg.append(svgElement('text', { x: labelWidth + barWidth + 4, y: y + 13 }, format(values[index])));
  });
  return figure(title, svg, labels, values, format, id);
}

function figure(title, svg, labels, values, format, id) {
  return h('figure', { class: 'chart', id },
    h('figcaption', null, title), svg,
    h('details', null, h('summary', null, 'As a table'),
      table(['', 'Value'], labels.map((label, index) => [label, format(values[index])]), title)));
}
