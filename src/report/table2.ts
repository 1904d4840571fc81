/**
 * `tpt report --table2`: the TPT paper's Table 2 layout ("cross-dataset generalization"): one table per
 * backbone, rows are methods (one per method group and variant, run-method.ts), columns are the ten
 * fine-grained sets of the registry's `cross-dataset` benchmark in its order and with its column labels,
 * then their average. The published figures to compare with are in the README.
 */
import { benchmarkDatasets, type DatasetName } from '../data/datasets/registry.js';
import {
  type BenchmarkLayout,
  type BenchmarkTable,
  buildBenchmarkTables,
  formatBenchmarkCsv,
  formatBenchmarkJson,
  formatBenchmarkMarkdown,
} from './benchmark-table.js';
import type { ReportRow } from './run-row.js';

export const TABLE2_DATASETS: readonly DatasetName[] = benchmarkDatasets('cross-dataset').map((s) => s.name);

export const TABLE2_LAYOUT: BenchmarkLayout = { name: 'Table 2', datasets: TABLE2_DATASETS, oodAverage: false };

export function buildTable2(rows: readonly ReportRow[]): BenchmarkTable[] {
  return buildBenchmarkTables(rows, TABLE2_LAYOUT);
}

export function formatTable2(tables: readonly BenchmarkTable[], format: 'md' | 'csv' | 'json'): string {
  return (format === 'csv' ? formatBenchmarkCsv : format === 'json' ? formatBenchmarkJson : formatBenchmarkMarkdown)(tables, TABLE2_LAYOUT);
}
