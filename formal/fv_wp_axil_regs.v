// Formal wrapper: wp_axil_regs, the AXI4-Lite slave every PE's registers sit behind.
//
// Environment (assumed): reset in the first cycle; AW, W and AR each hold valid and payload
// until ready; bready and rready low for at most 2 cycles in a row; reg_rd_data free.
// Asserted: B and R hold valid and payload until ready; never more B than AW and W taken,
// never more R than AR taken, at most one transaction outstanding per direction; AW and W are
// taken together; every write gives exactly one reg_wr_en with the written (word-aligned)
// address and the data merged by the byte strobes with the register's value read when it was
// taken; the register interface's address comes from a register: RD_LATENCY + 1 cycles after
// AW+W are taken it reads the written address with reg_rd_en low (the merge read), reg_wr_en
// follows in the next cycle; RD_LATENCY + 1 cycles after AR is taken it reads the AR address
// with reg_rd_en high, and R returns reg_rd_data as read then; with RD_LATENCY 1 to 5 the
// address is there, reg_rd_en low, the RD_LATENCY cycles before as well; reg_rd_en at no other
// time; a pending AW+W or AR is taken within LIVE cycles (no deadlock).

`default_nettype none

module fv_wp_axil_regs #(
    parameter AW = 6,
    parameter RD_LATENCY = 0,
    parameter LIVE = 8 + 2 * RD_LATENCY
) (
    input wire          clk,
    input wire          rst,
    input wire [AW-1:0] awaddr,
    input wire          awvalid,
    input wire [31:0]   wdata,
    input wire [3:0]    wstrb,
    input wire          wvalid,
    input wire          bready,
    input wire [AW-1:0] araddr,
    input wire          arvalid,
    input wire          rready,
    input wire [31:0]   reg_rd_data
);

wire          awready, wready, bvalid, arready, rvalid;
wire [1:0]    bresp, rresp;
wire [31:0]   rdata;
wire          reg_wr_en, reg_rd_en;
wire [AW-1:0] reg_wr_addr, reg_rd_addr;
wire [31:0]   reg_wr_data;
wire [3:0]    reg_wr_strb;

wp_axil_regs #(.ADDR_WIDTH(AW), .RD_LATENCY(RD_LATENCY)) dut (
    .clk(clk), .rst(rst),
    .s_axil_awaddr(awaddr), .s_axil_awprot(3'd0), .s_axil_awvalid(awvalid),
    .s_axil_awready(awready), .s_axil_wdata(wdata), .s_axil_wstrb(wstrb),
    .s_axil_wvalid(wvalid), .s_axil_wready(wready), .s_axil_bresp(bresp),
    .s_axil_bvalid(bvalid), .s_axil_bready(bready), .s_axil_araddr(araddr),
    .s_axil_arprot(3'd0), .s_axil_arvalid(arvalid), .s_axil_arready(arready),
    .s_axil_rdata(rdata), .s_axil_rresp(rresp), .s_axil_rvalid(rvalid), .s_axil_rready(rready),
    .reg_wr_en(reg_wr_en), .reg_wr_addr(reg_wr_addr), .reg_wr_data(reg_wr_data),
    .reg_wr_strb(reg_wr_strb), .reg_rd_en(reg_rd_en), .reg_rd_addr(reg_rd_addr),
    .reg_rd_data(reg_rd_data)
);

reg init = 1'b1;
reg past_ok = 1'b0;
reg p_aw_stall = 0, p_w_stall = 0, p_ar_stall = 0, p_b_stall = 0, p_r_stall = 0;
reg [AW-1:0] p_awaddr = 0, p_araddr = 0;
reg [31:0]   p_wdata = 0, p_rdata = 0;
reg [3:0]    p_wstrb = 0;
reg [1:0]    p_bresp = 0, p_rresp = 0;
reg [2:0]    b_low = 0, r_low = 0;
reg [3:0]    aw_n = 0, w_n = 0, b_n = 0, ar_n = 0, r_n = 0, wr_n = 0;
reg [4:0]    wr_wait = 0, rd_wait = 0;  // up to LIVE = 18 (RD_LATENCY 5)
reg [AW-1:0] exp_addr = 0;
reg [31:0]   exp_wdata = 0, exp_rdata = 0;
reg          exp_wr = 1'b0;
reg [6:0]    aw_sh = 0;  // aw_hs 1 .. 7 cycles ago
reg [5:0]    ar_sh = 0;  // ar_hs 1 .. 6 cycles ago
// the merge read RD_LATENCY + 1 cycles after AW+W, the write one later, the read RD_LATENCY + 1
// cycles after AR; in between the block decodes reg_rd_addr
wire         p_aw_hs = aw_sh[RD_LATENCY];
wire         p2_aw_hs = aw_sh[RD_LATENCY + 1];
wire         p_ar_hs = ar_sh[RD_LATENCY];
wire [4:0]   lat_mask = (5'd1 << RD_LATENCY) - 5'd1;  // the RD_LATENCY cycles before
wire         wait_aw = |(aw_sh[4:0] & lat_mask);
wire         wait_ar = |(ar_sh[4:0] & lat_mask);
reg [31:0]   t_wdata = 0, t_mask = 0;
reg [AW-1:0] t_araddr = 0;

wire aw_hs = awvalid && awready;
wire w_hs = wvalid && wready;
wire ar_hs = arvalid && arready;
wire b_hs = bvalid && bready;
wire r_hs = rvalid && rready;
wire [31:0] mask = {{8{wstrb[3]}}, {8{wstrb[2]}}, {8{wstrb[1]}}, {8{wstrb[0]}}};

always @(posedge clk) begin
    init <= 1'b0;
    past_ok <= !rst;
    p_aw_stall <= awvalid && !awready;
    p_w_stall <= wvalid && !wready;
    p_ar_stall <= arvalid && !arready;
    p_b_stall <= bvalid && !bready;
    p_r_stall <= rvalid && !rready;
    p_awaddr <= awaddr;
    p_araddr <= araddr;
    p_wdata <= wdata;
    p_wstrb <= wstrb;
    p_rdata <= rdata;
    p_bresp <= bresp;
    p_rresp <= rresp;
    b_low <= bready ? 0 : b_low + 1'b1;
    r_low <= rready ? 0 : r_low + 1'b1;
    aw_n <= aw_n + aw_hs;
    w_n <= w_n + w_hs;
    ar_n <= ar_n + ar_hs;
    b_n <= b_n + b_hs;
    r_n <= r_n + r_hs;
    wr_n <= wr_n + reg_wr_en;
    wr_wait <= (awvalid && wvalid && !aw_hs) ? wr_wait + 1'b1 : 0;
    rd_wait <= (arvalid && !ar_hs) ? rd_wait + 1'b1 : 0;
    aw_sh <= {aw_sh[5:0], aw_hs};
    ar_sh <= {ar_sh[4:0], ar_hs};
    if (aw_hs) begin
        exp_addr <= {awaddr[AW-1:2], 2'b00};
        t_wdata <= wdata;
        t_mask <= mask;
        exp_wr <= 1'b1;
    end
    if (p_aw_hs) exp_wdata <= (t_wdata & t_mask) | (reg_rd_data & ~t_mask);
    if (reg_wr_en) exp_wr <= 1'b0;
    if (ar_hs) t_araddr <= {araddr[AW-1:2], 2'b00};
    if (p_ar_hs) exp_rdata <= reg_rd_data;
    if (rst) begin
        aw_n <= 0; w_n <= 0; ar_n <= 0; b_n <= 0; r_n <= 0; wr_n <= 0;
        wr_wait <= 0; rd_wait <= 0; exp_wr <= 1'b0;
        aw_sh <= 0; ar_sh <= 0;
    end
end

always @* begin
    // environment
    if (init) assume(rst);
    if (rst) assume(!awvalid && !wvalid && !arvalid);
    if (past_ok && p_aw_stall) assume(awvalid && awaddr == p_awaddr);
    if (past_ok && p_w_stall) assume(wvalid && wdata == p_wdata && wstrb == p_wstrb);
    if (past_ok && p_ar_stall) assume(arvalid && araddr == p_araddr);
    assume(b_low <= 2 && r_low <= 2);
    assume(aw_n != 4'hF && ar_n != 4'hF);
    // the slave
    if (!rst && past_ok) begin
        if (p_b_stall) assert(bvalid && bresp == p_bresp);
        if (p_r_stall) assert(rvalid && rdata == p_rdata && rresp == p_rresp);
        assert(awready == wready);
        assert(aw_n == w_n);
        assert(b_n <= aw_n && aw_n - b_n <= 1);
        assert(r_n <= ar_n && ar_n - r_n <= 1);
        assert(wr_n <= aw_n && aw_n - wr_n <= 1);
        assert(!bvalid || wr_n == aw_n);  // B only after the register write
        if (reg_wr_en) assert(exp_wr && p2_aw_hs && reg_wr_addr == exp_addr
                              && reg_wr_data == exp_wdata);
        if (p_aw_hs) assert(!reg_rd_en && reg_rd_addr == exp_addr);
        if (p_ar_hs) assert(reg_rd_en && reg_rd_addr == t_araddr);
        if (wait_aw) assert(!reg_rd_en && reg_rd_addr == exp_addr);
        if (wait_ar) assert(!reg_rd_en && reg_rd_addr == t_araddr);
        if (reg_rd_en) assert(p_ar_hs);
        if (rvalid) assert(rdata == exp_rdata);
        assert(wr_wait < LIVE && rd_wait < LIVE);
    end
end

endmodule
