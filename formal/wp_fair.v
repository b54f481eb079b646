// wp_fair: environment assumptions shared by the formal wrappers (formal only): reset in the
// first cycle, and fair back-pressure: `ready` low for at most MAX_LOW cycles in a row.

`default_nettype none

module wp_fair #(
    parameter MAX_LOW = 2
) (
    input wire clk,
    input wire rst,
    input wire ready
);

reg init = 1'b1;
reg [7:0] low = 0;
always @(posedge clk) begin
    init <= 1'b0;
    low <= ready ? 0 : low + 1'b1;
end

always @* begin
    if (init) assume(rst);
    assume(low <= MAX_LOW);
end

endmodule
