/**
 * Values printed the way Python 3 prints them, so that run folder names equal the seed's
 * (`f"...lr={args.learning_rate}"` calls `repr` on floats): 0.0, 0.005, 0.8, 1e-05, 1e+16, True, None.
 *
 * Python's float repr is the shortest string that round-trips (as JavaScript's), but it switches to
 * exponent notation when the decimal exponent is < -4 or ≥ 16 (JavaScript: < -6 or ≥ 21), writes the
 * exponent with a sign and at least two digits, and always shows a fractional part (".0") in positional
 * notation.
 */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  // toExponential() without an argument gives the shortest round-trip digits: "d.ddde±x".
  const [mantissa, exponentText] = Math.abs(x).toExponential().split('e') as [string, string];
  const exponent = Number(exponentText);
  const digits = mantissa.replace('.', '');
  if (exponent < -4 || exponent >= 16) {
    const fraction = digits.length > 1 ? `.${digits.slice(1)}` : '';
    const expSign = exponent < 0 ? '-' : '+';
    return `${sign}${digits[0]}${fraction}e${expSign}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
  if (digits.length <= exponent + 1) return `${sign}${digits}${'0'.repeat(exponent + 1 - digits.length)}.0`;
  return `${sign}${digits.slice(0, exponent + 1)}.${digits.slice(exponent + 1)}`;
}

export function pythonBoolRepr(b: boolean): string {
  return b ? 'True' : 'False';
}

/** Python's str() of an int. */
export function pythonIntRepr(n: number): string {
  return BigInt(n).toString();
}
