// A budget shared by a group of bounded mailboxes (MailboxBudget): within it each mailbox has
// its own limits only; once the group holds it all, one holding its allowance (16 KiB, or an
// equal share if less) is full, a newcomer may still take a message, and room comes back under
// half the allowance or once the group is under half the budget.
import { describe, expect, it } from "vitest";
import { MailboxBound, MailboxBudget, SPENT_BUDGET_ALLOWANCE } from "@hopwire/runtime";

const own = { maxMessages: 1_000, maxBytes: 1_000 };
/** Own limits far above every budget here: only the budget makes these full. */
const roomy = { maxMessages: 1_000, maxBytes: 1 << 20 };
/** `count` mailboxes of `limits` sharing `budget`. */
const boundsOf = (budget: MailboxBudget, count: number, limits = own): MailboxBound[] =>
  Array.from({ length: count }, () => new MailboxBound(limits, budget));
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("MailboxBound with a MailboxBudget", () => {
  it("changes nothing while the group is within the budget", () => {
    const budget = new MailboxBudget(10_000);
    const [a, b] = boundsOf(budget, 2);
    a.add(999);
    b.add(999);
    expect([a.isFull, b.isFull]).toEqual([false, false]);
    expect([budget.bytes, budget.holders]).toEqual([1998, 2]);
    a.add(1);
    expect(a.isFull).toBe(true); // its own limit still holds
  });

  it("makes the one over its share full once the budget is spent, and leaves the others and a newcomer room", () => {
    const budget = new MailboxBudget(1_000);
    const [greedy, modest] = boundsOf(budget, 2);
    modest.add(100);
    greedy.add(800);
    expect(greedy.isFull).toBe(false); // 900 of 1,000: not spent
    greedy.add(100); // spent: greedy holds 900 of a 500 share
    expect([greedy.isFull, modest.isFull]).toEqual([true, false]);
    expect(greedy.wouldFill(0, 1)).toBe(true);
    // modest's share is 500: it may grow to it, then it is full too.
    expect(modest.wouldFill(1, 300)).toBe(false);
    modest.add(300);
    expect(modest.isFull).toBe(false);
    modest.add(100);
    expect(modest.isFull).toBe(true);
    // A newcomer holding nothing has a third of the budget.
    const newcomer = new MailboxBound(own, budget);
    expect(newcomer.wouldFill(1, 300)).toBe(false);
    newcomer.add(300);
    expect(newcomer.isFull).toBe(false);
    expect(budget.holders).toBe(3);
  });

  it("allows at most SPENT_BUDGET_ALLOWANCE to each once the budget is spent, however large the share", () => {
    const large = { maxMessages: 1_000_000, maxBytes: 1 << 30 };
    const budget = new MailboxBudget(1 << 20);
    const first = new MailboxBound(large, budget);
    first.add(1 << 20); // the whole budget: full for the budget's sake
    expect(first.isFull).toBe(true);
    const second = new MailboxBound(large, budget);
    expect(second.wouldFill(1, SPENT_BUDGET_ALLOWANCE - 1)).toBe(false);
    expect(second.wouldFill(1, SPENT_BUDGET_ALLOWANCE)).toBe(true); // a share would be 512 KiB
    second.add(100 * 1024); // one message of any size when it holds nothing
    expect(second.isFull).toBe(true);
    const third = new MailboxBound(large, budget);
    third.add(SPENT_BUDGET_ALLOWANCE - 1);
    expect(third.isFull).toBe(false);
    third.add(1);
    expect(third.isFull).toBe(true);
  });

  it("gives room back under half the share, or to every squeezed one once the group is under half the budget", async () => {
    const budget = new MailboxBudget(1_000);
    const [a, b] = boundsOf(budget, 2);
    b.add(400);
    a.add(600);
    expect([a.isFull, b.isFull]).toEqual([true, false]); // spent; share 500: a over it
    let aRoom = 0;
    a.onRoom(() => aRoom++);
    a.release(1, 300); // holds 300, share 500: not under half of it (250), group 700
    await turn();
    expect([a.isFull, aRoom]).toEqual([true, 0]);
    a.release(1, 60); // 240 ≤ 250
    await turn();
    expect([a.isFull, aRoom]).toEqual([false, 1]);

    a.add(400); // a 640, b 400: spent again, a squeezed
    expect(a.isFull).toBe(true);
    let room = 0;
    a.onRoom(() => room++);
    b.release(1, 400); // the group holds 640 (over half): a still over half its (now whole) share? 640 > 500
    await turn();
    expect([a.isFull, room]).toEqual([true, 0]);
    a.release(1, 150); // 490 ≤ half the budget: every squeezed one is asked again
    await turn();
    expect([a.isFull, room]).toEqual([false, 1]);
  });

  it("gives a mailbox the budget made full its room back by the budget's rule alone, not its own limits' half", async () => {
    const budget = new MailboxBudget(100_000);
    const limits = { maxMessages: 1_000, maxBytes: 80_000 };
    const [a, b] = boundsOf(budget, 2, limits);
    b.add(54_999);
    a.add(45_001); // spent: a holds more than its allowance
    expect(a.isFull).toBe(true);
    let room = 0;
    a.onRoom(() => room++);
    b.release(1, 54_999); // the group at 45,001, under half the budget; a above half its own 80,000
    await turn();
    expect([a.isFull, room]).toEqual([false, 1]);
  });

  it("asks the mailboxes it made full again when the budget is raised", async () => {
    const budget = new MailboxBudget(1_000);
    const [a] = boundsOf(budget, 1, roomy);
    a.add(1_000);
    expect(a.isFull).toBe(true);
    let room = 0;
    a.onRoom(() => room++);
    budget.maxBytes = 1 << 20;
    await turn();
    expect([a.isFull, room]).toEqual([false, 1]);
  });

  it("keeps a mailbox that reached its own limits while the budget held it full until it is under half of them", async () => {
    const budget = new MailboxBudget(1_000);
    const [other] = boundsOf(budget, 1, roomy);
    const [a] = boundsOf(budget, 1, { ...roomy, maxMessages: 10 });
    other.add(500);
    a.add(500); // spent: a holds its allowance (half the budget, two holders)
    expect(a.isFull).toBe(true);
    a.addMany(9, 0); // deliveries that do not wait: 10 of 10 messages
    let room = 0;
    a.onRoom(() => room++);
    a.release(1, 0); // 9 of 10, the budget still spent
    other.release(1, 500); // the group at half the budget: the budget alone would give room
    await turn();
    expect([a.isFull, room]).toEqual([true, 0]); // its own limits hold it: 9 > 5
    a.release(4, 0); // 5 of 10
    await turn();
    expect([a.isFull, room]).toEqual([false, 1]);
  });

  it("says when the group comes to hold the whole budget, counting the mailbox that spent it, and when a lower budget is already spent", () => {
    const seen: number[] = [];
    const budget: MailboxBudget = new MailboxBudget(1_000, () => seen.push(budget.holders));
    const [a, b] = boundsOf(budget, 2, roomy);
    a.add(600);
    b.add(600); // b's first bytes spend it: two holders
    expect(seen).toEqual([2]);
    b.release(1, 600);
    expect(seen).toEqual([2]);
    budget.maxBytes = 500; // a's 600 spend the lower budget at once
    expect(seen).toEqual([2, 1]);
  });

  it("forgets a mailbox's bytes when it is reset, and counts holders only while they hold anything", () => {
    const budget = new MailboxBudget(1_000);
    const [a, b] = boundsOf(budget, 2);
    b.add(300);
    a.add(700);
    expect(a.isFull).toBe(true);
    a.reset();
    expect([budget.bytes, budget.holders, a.isFull]).toEqual([300, 1, false]);
    b.release(1, 300);
    expect([budget.bytes, budget.holders]).toEqual([0, 0]);
  });
});
