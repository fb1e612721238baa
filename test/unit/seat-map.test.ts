import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { planSeatMap, seatMapFromCsv, seatMapFromDocument } from '../../src/domain/admin/seat-map.ts';

const problemsOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (
      err as { code: string; details: { problems: Array<{ line?: number; path?: string; message: string }> } }
    ).details.problems;
  }
  assert.fail('expected SEAT_MAP_INVALID');
};

describe('seat map CSV', () => {
  test('quoted fields, doubled quotes, CRLF, a BOM and a final line break are accepted', () => {
    const csv = '\uFEFFsection,row,label,price\r\n"Box ""A""",1,"1,2",0\r\nB,2,3,1000000000\r\n';
    assert.deepEqual(seatMapFromCsv(csv), [
      { section: 'Box "A"', row: '1', label: '1,2', price: 0 },
      { section: 'B', row: '2', label: '3', price: 1_000_000_000 },
    ]);
  });

  test('each bad line is named: field count, quoting, spaces, price, blank line, duplicates', () => {
    const csv = [
      'section,row,label,price',
      'A,1,1',
      'A,1,"2,10',
      'A,1, 3,10',
      'A,1,4,1.5',
      '',
      'A,1,5,10000000000',
      'A,1,6,10',
      'A,1,6,10',
    ].join('\n');
    assert.deepEqual(
      problemsOf(() => seatMapFromCsv(csv)).map((p) => p.line),
      [2, 3, 4, 5, 6, 7, 9],
    );
  });

  test('an empty map and a missing header are refused', () => {
    assert.equal(
      problemsOf(() => seatMapFromCsv('section,row,label,price\n'))[0].message,
      'the seat map has no seats',
    );
    assert.equal(problemsOf(() => seatMapFromCsv('Section,Row,Label,Price\nA,1,1,1\n'))[0].line, 1);
  });
});

describe('seat map JSON', () => {
  test('a seat takes its section price unless it names one; a seat with neither is a problem with its path', () => {
    assert.deepEqual(
      seatMapFromDocument({
        sections: [{ name: 'A', price: 10, rows: [{ label: '1', seats: ['1', { label: '2', price: 20 }] }] }],
      }).map((s) => s.price),
      [10, 20],
    );
    const problems = problemsOf(() =>
      seatMapFromDocument({ sections: [{ name: 'A', rows: [{ label: '1', seats: ['1', '1'] }] }] }),
    );
    assert.deepEqual(
      problems.map((p) => p.path),
      ['sections[0].rows[0].seats[0]', 'sections[0].rows[0].seats[1]'],
    );
  });
});

describe('seat map plan', () => {
  test('a place keeps its id; new places get ids after the largest ever used; others are removed', () => {
    const current = [
      { id: 1, section: 'A', row: '1', label: '1', price: 10 },
      { id: 2, section: 'A', row: '1', label: '2', price: 10 },
      { id: 3, section: 'A', row: '1', label: '3', price: 10 },
    ];
    const plan = planSeatMap(
      current,
      [
        { section: 'A', row: '1', label: '3', price: 10 },
        { section: 'A', row: '1', label: '2', price: 12 },
        { section: 'B', row: '1', label: '1', price: 5 },
      ],
      9,
    );
    assert.deepEqual(
      plan.removed.map((s) => s.id),
      [1],
    );
    assert.deepEqual(plan.repriced, [{ id: 2, section: 'A', row: '1', label: '2', price: 12 }]);
    assert.deepEqual(plan.added, [{ id: 9, section: 'B', row: '1', label: '1', price: 5 }]);
    assert.equal(plan.unchanged, 1);
    assert.deepEqual(
      plan.seats.map((s) => s.id),
      [2, 3, 9],
    );
  });
});
